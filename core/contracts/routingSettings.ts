/**
 * What the router needs to know about one model service. The stack renders it as JSON into the
 * `aks-inference/settings` annotation of the service's Kubernetes Service; local mode hands it
 * to the local discovery directly. Both build it with `routingSettings`, from the same config.
 */
import type { AuthMode, ModelServiceConfig, ModelVersionConfig } from "../config";
import { versionPayloadLimitBytes } from "../decisions/payloadLimit";

export interface AutoscaleSettings {
  enabled: boolean;
  minReplicas: number;
  maxReplicas: number;
  /** Percent, 1-100: target share of busy replicas. */
  targetUtilization: number;
}

export interface ServiceRoutingSettings {
  name: string;
  authMode: AuthMode;
  /** `aud` required on tokens (token auth); default the service name. */
  tokenAudience: string;
  autoscale: AutoscaleSettings;
  /** Concurrent requests one replica is given before requests queue in the router. */
  maxConcurrentRequestsPerReplica: number;
  /** Longest time a request waits in the router's queue before 503 + Retry-After. */
  maxQueueWaitMs: number;
  /** Time a replica has to answer before the router answers 504. */
  scoringTimeoutMs: number;
  /** Largest body this service's replicas can hold in memory, in bytes (core/decisions/payloadLimit.ts: its memory, its handler's factor); absent: the router's limit. */
  maxBodyBytes?: number;
  /**
   * A declared version of the service (core/decisions/versions.ts): its name, its share of live requests
   * and of mirrored copies. Absent for a service's one implicit version, so that a service
   * without versions keeps the annotation it always had.
   */
  version?: { name: string; traffic: number; mirrorPercent: number };
}

/**
 * The settings of one version of `svc` (from versionsOf; a service without versions has its one
 * implicit version). `routerLimitBytes`: the router's body limit (routerPayloadLimitBytes of the
 * stack's `router.payloadLimitMb`), which no service's exceeds; required, so that no caller can
 * announce a limit the router does not apply.
 */
export function routingSettings(svc: ModelServiceConfig, v: ModelVersionConfig, tokenAudience: string | undefined, routerLimitBytes: number): ServiceRoutingSettings {
  return {
    name: svc.name,
    authMode: svc.authMode,
    tokenAudience: tokenAudience ?? svc.name,
    autoscale: {
      enabled: v.autoscaleEnabled,
      minReplicas: v.autoscaleEnabled ? v.autoscaleMinReplicas : v.initialReplicas,
      maxReplicas: v.autoscaleEnabled ? v.autoscaleMaxReplicas : v.initialReplicas,
      targetUtilization: v.autoscaleTargetUtilization,
    },
    maxConcurrentRequestsPerReplica: v.replicaMaxConcurrentRequests,
    maxQueueWaitMs: v.maxRequestWaitTimeMs,
    scoringTimeoutMs: v.scoringTimeoutMs,
    maxBodyBytes: versionPayloadLimitBytes(v, routerLimitBytes),
    ...(svc.versions ? { version: { name: v.version, traffic: v.traffic, mirrorPercent: v.mirrorPercent } } : {}),
  };
}

/**
 * The routing settings a model Service's annotation carries, checked: the router's discovery, the
 * CLI and the policy pack all read the annotation with this. Throws with the reason, naming `owner`.
 */
export function parseRoutingSettings(raw: string | undefined, serviceName: string | undefined, owner: string): ServiceRoutingSettings {
  if (!raw || !serviceName) throw new Error(`${owner} lacks the routing settings annotation or the service label`);
  let s: ServiceRoutingSettings;
  try {
    s = JSON.parse(raw) as ServiceRoutingSettings;
  } catch {
    throw new Error(`${owner}: the routing settings annotation is not JSON`);
  }
  const badLimit = s.maxBodyBytes !== undefined && !(Number.isInteger(s.maxBodyBytes) && s.maxBodyBytes > 0);
  // A version's shape is checked here; whether its shares make sense with its siblings' is for
  // those that see them all (the policy pack refuses, the router treats shares as weights).
  const v = s.version;
  const badVersion = v !== undefined && (typeof v !== "object" || v === null || typeof v.name !== "string" || !Number.isInteger(v.traffic) || !Number.isInteger(v.mirrorPercent));
  if (s.name !== serviceName || !["key", "token", "none"].includes(s.authMode) || typeof s.autoscale?.maxReplicas !== "number" || badLimit || badVersion) {
    throw new Error(`${owner}: the routing settings annotation is not a valid settings document`);
  }
  return s;
}
