/**
 * The router program as it runs in its container (or as a local process): configuration from
 * the environment (`ROUTER_ENV`), Kubernetes discovery/keys/scaling/coordination when running
 * in a cluster, SIGTERM drains gracefully.
 */
import { readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as k8s from "@kubernetes/client-node";
import pino from "pino";
import { oidcIssuer, type TokenIssuer } from "../core/decisions/auth";
import { ROUTER_ENV, logLevel } from "../core/contracts/naming";
import { readRouterEnv } from "../core/contracts/routerEnv";
import { DEFAULT_SELF_SCALE_LIMITS } from "../core/decisions/selfScale";
import { KubernetesDiscovery, KubernetesKeyStore, KubernetesScaler, LeaseCoordinator } from "./kubernetes";
import { FileKeyStore } from "./inProcess";
import { KubernetesRouterSize, SelfScaler } from "./selfScaler";
import { startRouter } from "./server";
import type { KeyStore } from "./types";

const env = (key: keyof typeof ROUTER_ENV): string | undefined => process.env[ROUTER_ENV[key]] || undefined;

/** A file read again whenever its modification time changes (a mounted Secret being updated). */
export function watchedFile(path: string): () => string | undefined {
  let stamp = -1;
  let value: string | undefined;
  return () => {
    try {
      const m = statSync(path).mtimeMs;
      if (m !== stamp) {
        value = readFileSync(path, "utf8").trim();
        stamp = m;
      }
    } catch {
      // Keep the last value: a Secret volume swaps its files atomically, briefly absent.
    }
    return value;
  };
}

function tokenIssuer(): TokenIssuer | undefined {
  const type = env("tokenIssuerType");
  if (type === "oidc") {
    const issuer = env("tokenIssuer");
    const jwks = env("tokenJwksUri");
    if (!issuer || !jwks) throw new Error(`${ROUTER_ENV.tokenIssuerType}=oidc needs ${ROUTER_ENV.tokenIssuer} and ${ROUTER_ENV.tokenJwksUri}`);
    return oidcIssuer(issuer, jwks);
  }
  const keyFile = env("tokenSigningKeyFile");
  if (type === "builtin" || keyFile) {
    if (!keyFile) throw new Error(`${ROUTER_ENV.tokenIssuerType}=builtin needs ${ROUTER_ENV.tokenSigningKeyFile}`);
    return { type: "builtin", signingKey: watchedFile(keyFile), issuer: env("tokenIssuer") };
  }
  return undefined;
}

async function main(): Promise<void> {
  const log = pino({ name: "aks-inference-router", level: logLevel(process.env) });
  const namespace = env("namespace") ?? "default";
  const podName = env("podName") ?? os.hostname();
  const settings = readRouterEnv(process.env);
  const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  const certFile = env("tlsCertFile");
  const keyFile = env("tlsKeyFile");
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error(`${ROUTER_ENV.tlsCertFile} and ${ROUTER_ENV.tlsKeyFile} go together`);
  if (!inCluster) throw new Error("router/main.ts runs in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset); use `npm start` for local mode");

  const kc = new k8s.KubeConfig();
  kc.loadFromCluster();
  const keysDir = env("keysDir");
  let keys: KeyStore;
  if (keysDir) keys = new FileKeyStore(keysDir);
  else {
    const store = new KubernetesKeyStore(kc, namespace, log);
    await store.start();
    keys = store;
  }
  const coordinator = new LeaseCoordinator(kc, namespace, podName, settings.adminPort, log);
  const router = await startRouter({
    discovery: new KubernetesDiscovery(kc, namespace, log),
    keys,
    scaler: new KubernetesScaler(kc, namespace),
    coordinator,
    tokenIssuer: tokenIssuer(),
    host: "0.0.0.0",
    port: settings.port,
    adminPort: settings.adminPort,
    tls: certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
    maxBodyBytes: settings.maxBodyBytes,
    bodyLimits: { spoolDir: settings.spoolDir, spoolBytes: settings.spoolBytes },
    maxConnections: settings.maxConnections,
    trustForwardedFor: settings.trustForwardedFor,
    maxTokenLifetimeSeconds: settings.maxTokenLifetimeSeconds,
    logger: log,
  });
  const selfScaler = settings.selfScaling
    ? new SelfScaler(new KubernetesRouterSize(kc, namespace), coordinator, router.metrics, log, { ...DEFAULT_SELF_SCALE_LIMITS, latencyThresholdMs: settings.selfScalingLatencyMs })
    : undefined;
  const stop = (signal: string) => {
    log.info({ signal }, "draining");
    selfScaler?.close();
    router.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: 60, msg: "router failed to start", err: (err as Error).message }));
    process.exit(1);
  });
}
