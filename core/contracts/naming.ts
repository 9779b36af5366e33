/**
 * Names, labels and environment variables shared by the stack (which renders them into
 * Kubernetes objects), the router (which discovers by them), the scoring server (which reads
 * them at start), local mode and the CLI. One place, so the four cannot drift apart.
 */
import { REPLICA_TOKEN_ENV } from "./replicaToken";

/** Namespace of the router and model services unless the stack config says otherwise. */
export const DEFAULT_NAMESPACE = "aks-inference";

/** Label keys put on every object the project renders, and selected on by the router. */
export const LABELS = {
  /** `router` or `model`. */
  role: "aks-inference/role",
  /** The model service name (on model pods, Services and Deployments). */
  service: "aks-inference/service",
  /** A declared version of the service (absent for its implicit version). */
  version: "aks-inference/version",
  /** Marks Secrets holding a model service's keys (value: the service name). */
  keysFor: "aks-inference/keys-for",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

export const ROLE_ROUTER = "router";
export const ROLE_MODEL = "model";
export const MANAGED_BY = "aks-inference";

/** Annotation on a model service's Kubernetes Service: JSON of `ServiceRoutingSettings`. */
export const SETTINGS_ANNOTATION = "aks-inference/settings";

/** Kubernetes Secret holding a model service's two keys. */
export function keySecretName(service: string): string {
  return `${service}-keys`;
}
/** Data keys inside the key Secret (and fields of the local key file). */
export const KEY_FIELDS = { primary: "primaryKey", secondary: "secondaryKey" } as const;
export type KeyName = keyof typeof KEY_FIELDS;

/** Secret holding the built-in token issuer's HS256 signing secret (data key `signingKey`). */
export const TOKEN_SIGNING_SECRET = "aks-inference-token-signing";
export const TOKEN_SIGNING_FIELD = "signingKey";
/** Secret holding the environment's Application Insights connection string, for services with `appInsightsEnabled`. */
export const APP_INSIGHTS_SECRET = { name: "aks-inference-appinsights", key: "connectionString" } as const;

/** `iss` of tokens minted by the built-in issuer. */
export const BUILTIN_TOKEN_ISSUER = "aks-inference";

/** Name of the Deployment / Service / Lease of the router. */
export const ROUTER_NAME = "aks-inference-router";
/** Lease the router pods elect their autoscaling coordinator with. */
export const ROUTER_LEASE = "aks-inference-router-autoscaler";

/** Kubernetes object names of one model service (Deployment and Service share it). */
/**
 * The name of a model service's Deployment and Service: one pair per version, the implicit
 * version keeping the name a service without versions always had.
 */
export function modelDeploymentName(service: string, version?: string): string {
  return version === undefined ? `model-${service}` : `model-${service}-${version}`;
}

/** Blob containers the Storage component creates and the runtime uses. */
export const BLOB_CONTAINERS = {
  models: "models",
  packages: "packages",
  modelData: "modeldata",
} as const;
/** Table the Storage component creates for service metadata. */
export const SERVICE_TABLE = "inferenceservices";

/** Blob name of a project package: `packages/<service>/<hash>.zip`. */
export function packageBlobName(service: string, packageHash: string): string {
  return `${service}/${packageHash}.zip`;
}
/** Where a replica finds one model's files: `<prefix><file or folder>/...` in the models container. */
export interface ModelBlobs {
  name: string;
  /** Unpacked to `azureml-models/<name>/<version>/`, as Azure ML does. */
  version: number;
  prefix: string;
}

/** Blob prefix of one model's files: `models/<model>/<hash>/`. */
export function modelBlobPrefix(model: string, contentHash: string): string {
  return `${model}/${contentHash}/`;
}

/**
 * Environment of a scoring replica: every variable it reads, and nothing else. core/contracts/scoringEnv.ts
 * is the one writer (the stack's model Deployment, local mode, the image check) and the one
 * reader (scoring/main.ts); the environment images set `port`, `workDir` and `python` themselves.
 */
export const SCORING_ENV = {
  port: "PORT",
  /** Address the replica listens on; default every interface (local mode: loopback). */
  host: "HOST",
  service: "AKS_INFERENCE_SERVICE",
  /** The pod's name on a cluster (the host name when unset), local mode's replica id. */
  replicaId: "AKS_INFERENCE_REPLICA_ID",
  /** Local mode (Azurite): connection string of the storage account. Secret. Used when set. */
  storageConnectionString: "AKS_INFERENCE_STORAGE_CONNECTION_STRING",
  /** On AKS: the blob endpoint `https://<account>.blob.core.windows.net`, reached with the pod's workload identity (no account key). */
  storageAccountUrl: "AKS_INFERENCE_STORAGE_ACCOUNT_URL",
  /** Blob name in the `packages` container; empty when the service has no project folder. */
  packageBlob: "AKS_INFERENCE_PACKAGE_BLOB",
  /** JSON `[{ "name": "...", "version": 1, "prefix": "<model>/<hash>/" }]` in the `models` container. */
  modelBlobs: "AKS_INFERENCE_MODEL_BLOBS",
  /** Entry script path inside the package; empty for the built-in ONNX handler. */
  entryScript: "AKS_INFERENCE_ENTRY_SCRIPT",
  /** "true" to append inputs/outputs to the `modeldata` container. */
  collectModelData: "AKS_INFERENCE_COLLECT_MODEL_DATA",
  /** Where the package and models are unpacked. */
  workDir: "AKS_INFERENCE_WORK_DIR",
  /** Python entry scripts: the interpreter of the service's environment (the image sets it; local mode picks one). */
  python: "AKS_INFERENCE_PYTHON",
  /**
   * Scoring requests one replica runs at once (the service's replicaMaxConcurrentRequests): the
   * replica's own busy limit, and the number of Python workers (one request each at a time).
   */
  maxConcurrentRequests: "AKS_INFERENCE_MAX_CONCURRENT_REQUESTS",
  /** A run() longer than this (ms) has its Python worker killed and restarted (scoringTimeoutMs); in-flight requests get as long to finish when the replica drains. */
  scoringTimeoutMs: "AKS_INFERENCE_SCORING_TIMEOUT_MS",
  /** The service's body limit in bytes (core/decisions/payloadLimit.ts, as its routing settings announce it): the replica's own guard and its OpenAPI 413. */
  maxBodyBytes: "AKS_INFERENCE_MAX_BODY_BYTES",
  /** The service's `gpuCores`; absent or "0" for CPU services (local mode runs every service on the CPU). */
  gpuCores: "AKS_INFERENCE_GPU_CORES",
  /** "true" when the service allows running on CPU without a usable GPU (`gpuFallbackToCpu`). */
  gpuFallbackToCpu: "AKS_INFERENCE_GPU_FALLBACK_TO_CPU",
  /** The GPU pool the service runs on, named in failure reasons. */
  gpuPool: "AKS_INFERENCE_GPU_POOL",
  /** File an init() failure's reason goes to: Kubernetes' termination message (its default path when unset), a file per replica in local mode. */
  terminationLog: "TERMINATION_LOG",
  /** Local mode only: the run's secret the replica requires of callers (core/contracts/replicaToken.ts). */
  replicaToken: REPLICA_TOKEN_ENV,
  /**
   * A service with `appInsightsEnabled`: the connection string of the environment's Application
   * Insights resource, from the Secret APP_INSIGHTS_SECRET. Secret. The standard name, which the
   * Azure Monitor OpenTelemetry exporters and distros (Node.js and Python) read by themselves, so
   * an entry script that configures its own Azure Monitor telemetry finds it as the server does.
   */
  appInsightsConnectionString: "APPLICATIONINSIGHTS_CONNECTION_STRING",
} as const;

/**
 * Idle keep-alive timeout of the router's public listener and of every replica: longer than the
 * idle timeouts of their callers' connection pools (clients and load balancers at about 60 s, the
 * router's pool to replicas at 30 s, 60 s at most), so the caller drops an idle connection first
 * and never sends a request on one the server is closing.
 */
export const KEEP_ALIVE_MS = 65_000;

/** A service's `scoringTimeoutMs` unless its config says otherwise (Azure ML v1's 60 s). */
export const DEFAULT_SCORING_TIMEOUT_MS = 60_000;

/**
 * Header of a replica's "busy" answer (503): it already runs as many requests as it may
 * (`replicaMaxConcurrentRequests`), which happens when several router pods each send it their
 * share. The router treats it as not delivered and tries again (another replica first), as
 * Knative's queue-proxy breaker is used by its activator.
 */
export const REPLICA_BUSY_HEADER = "x-aks-inference-replica-busy";

/** Port the scoring server listens on in a container. */
export const SCORING_PORT = 5001;
/** Ports of the router container. */
export const ROUTER_PORTS = { http: 8080, https: 8443, admin: 8081 } as const;

/**
 * Environment of the router container (router/main.ts reads it; the Router component and local
 * mode set it). Keys and signing material are files, so a mounted Secret that changes is re-read.
 */
export const ROUTER_ENV = {
  port: "ROUTER_PORT",
  /** Admin listener: /metrics, /internal/load (peers), probes. Not exposed by the LoadBalancer. */
  adminPort: "ROUTER_ADMIN_PORT",
  /** Local key files instead of Kubernetes Secrets (local mode). */
  keysDir: "ROUTER_KEYS_DIR",
  tlsCertFile: "ROUTER_TLS_CERT_FILE",
  tlsKeyFile: "ROUTER_TLS_KEY_FILE",
  namespace: "ROUTER_NAMESPACE",
  podName: "ROUTER_POD_NAME",
  podIp: "ROUTER_POD_IP",
  maxBodyBytes: "ROUTER_MAX_BODY_BYTES",
  /** Folder for request bodies beyond their in-memory part (router/spool.ts), and the bytes all may take there. */
  spoolDir: "ROUTER_SPOOL_DIR",
  spoolBytes: "ROUTER_SPOOL_BYTES",
  selfScaling: "ROUTER_SELF_SCALING",
  selfScalingLatencyMs: "ROUTER_SELF_SCALING_LATENCY_MS",
  tokenIssuerType: "ROUTER_TOKEN_ISSUER_TYPE",
  tokenIssuer: "ROUTER_TOKEN_ISSUER",
  tokenJwksUri: "ROUTER_TOKEN_JWKS_URI",
  tokenSigningKeyFile: "ROUTER_TOKEN_SIGNING_KEY_FILE",
  /** Longest token lifetime (exp − iat) accepted, in seconds. */
  tokenMaxLifetimeSeconds: "ROUTER_TOKEN_MAX_LIFETIME_SECONDS",
  /** Client connections at most; default from the open-file limit. */
  maxConnections: "ROUTER_MAX_CONNECTIONS",
  /** "true": a trusted proxy sits in front, keep the client's X-Forwarded-For chain. */
  trustForwardedFor: "ROUTER_TRUST_FORWARDED_FOR",
} as const;

/** Annotation on a model Deployment: how many models its container serves (policy: at most 1,000). */
export const MODEL_COUNT_ANNOTATION = "aks-inference/model-count";

/** Azure tags the stack puts on its resources, read back by the policy pack. */
export const TAGS = {
  purpose: "aks-inference-cluster-purpose",
  stack: "aks-inference-stack",
  networkPlugin: "aks-inference-network-plugin",
  /** On the ManagedCluster when some service uses token auth: the token issuer's (workspace) region. */
  tokenRegion: "aks-inference-token-region",
} as const;

/** Node label on every GPU pool's nodes (value: the pool name); GPU model services select on it. */
export const GPU_POOL_LABEL = "aks-inference/gpu-pool";
/** Taint on GPU pools: only pods that ask for GPUs (and tolerate it) land there. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" } as const;
export const GPU_TAINT_STRING = `${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect}`;
/** Extended resource the NVIDIA device plugin advertises. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** Exit code of a scoring replica whose init() failed: restarting it without a change cannot help. */
export const INIT_FAILED_EXIT_CODE = 3;

/** Annotation on the router's Service: the scoring host clients call (custom domain or cloudapp name). */
export const ROUTER_HOST_ANNOTATION = "aks-inference/host";

/** ServiceAccount of every model pod: its workload identity reads packages and models and writes collected data. */
export const MODEL_SERVICE_ACCOUNT = "aks-inference-model";

/** AKS workload identity: the ServiceAccount annotation, the pod label and the token audience it uses. */
export const WORKLOAD_IDENTITY = {
  clientIdAnnotation: "azure.workload.identity/client-id",
  useLabel: "azure.workload.identity/use",
  audience: "api://AzureADTokenExchange",
} as const;

/** Subject of a ServiceAccount's tokens, as a federated identity credential must name it. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** SecretProviderClass the router's CSI volume reads its TLS certificate through (Key Vault). */
export const ROUTER_TLS_PROVIDER_CLASS = "aks-inference-router-tls";

/** Log level of every program (router, scoring server, local mode): one variable, pino's level names. */
export const LOG_LEVEL_ENV = "LOG_LEVEL";

/** The log level `env` asks for, else `fallback`; an unknown name is an error naming the variable. */
export function logLevel(env: Record<string, string | undefined>, fallback = "info"): string {
  const v = env[LOG_LEVEL_ENV] || fallback;
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  if (!levels.includes(v)) throw new Error(`${LOG_LEVEL_ENV} must be one of ${levels.join(", ")} (got '${v}')`);
  return v;
}
