/**
 * Local mode only: a replica listens on a loopback port, which every process of the machine can
 * open. Local mode therefore gives each run a random secret that its router sends to the
 * replicas in REPLICA_TOKEN_HEADER and that they require (403 without it). On a cluster the
 * variable is never set and NetworkPolicies keep everything but the router away.
 */
import { timingSafeEqual } from "node:crypto";

/** The header the router adds when forwarding to a local replica (and drops from the client's request). */
export const REPLICA_TOKEN_HEADER = "x-aks-inference-replica-token";
/** The replica's variable holding the secret; `AKS_INFERENCE_*`, so Python workers never see it. */
export const REPLICA_TOKEN_ENV = "AKS_INFERENCE_REPLICA_TOKEN";

/** Whether a request may reach the replica: always without a secret, else only with it (compared in constant time). */
export function replicaTokenAccepted(given: string | string[] | undefined, expected: string | undefined): boolean {
  if (!expected) return true;
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
