/**
 * The names running clusters depend on. Each is rendered into Kubernetes objects, Azure
 * resources or environment variables by one release and read by the router, scoring server, CLI
 * or policy pack of the next: renaming one silently breaks an upgrade (a router that no longer
 * finds its services, keys it no longer reads), so a rename must be a deliberate test change.
 */
import * as assert from "node:assert/strict";
import * as naming from "../../core/contracts/naming";

describe("names shared with running clusters", () => {
  it("labels, annotations and object names the router discovers by", () => {
    assert.equal(naming.DEFAULT_NAMESPACE, "aks-inference");
    assert.deepEqual(naming.LABELS, { role: "aks-inference/role", service: "aks-inference/service", version: "aks-inference/version", keysFor: "aks-inference/keys-for", managedBy: "app.kubernetes.io/managed-by" });
    assert.deepEqual([naming.ROLE_ROUTER, naming.ROLE_MODEL, naming.MANAGED_BY], ["router", "model", "aks-inference"]);
    assert.equal(naming.SETTINGS_ANNOTATION, "aks-inference/settings");
    assert.equal(naming.MODEL_COUNT_ANNOTATION, "aks-inference/model-count");
    assert.equal(naming.ROUTER_HOST_ANNOTATION, "aks-inference/host");
    assert.equal(naming.ROUTER_NAME, "aks-inference-router");
    assert.equal(naming.ROUTER_LEASE, "aks-inference-router-autoscaler");
    assert.equal(naming.modelDeploymentName("fraud"), "model-fraud");
    assert.equal(naming.modelDeploymentName("fraud", "blue"), "model-fraud-blue", "one Deployment and Service per version");
    assert.equal(naming.MODEL_SERVICE_ACCOUNT, "aks-inference-model");
    assert.equal(naming.ROUTER_TLS_PROVIDER_CLASS, "aks-inference-router-tls");
  });

  it("keys and token signing material, with Azure ML's key field names", () => {
    assert.equal(naming.keySecretName("fraud"), "fraud-keys");
    assert.deepEqual(naming.KEY_FIELDS, { primary: "primaryKey", secondary: "secondaryKey" });
    assert.equal(naming.TOKEN_SIGNING_SECRET, "aks-inference-token-signing");
    assert.equal(naming.TOKEN_SIGNING_FIELD, "signingKey");
    assert.equal(naming.BUILTIN_TOKEN_ISSUER, "aks-inference");
  });

  it("storage containers, the service table and blob names", () => {
    assert.deepEqual(naming.BLOB_CONTAINERS, { models: "models", packages: "packages", modelData: "modeldata" });
    assert.equal(naming.SERVICE_TABLE, "inferenceservices");
    assert.equal(naming.packageBlobName("fraud", "abc"), "fraud/abc.zip");
    assert.equal(naming.modelBlobPrefix("churn", "123"), "churn/123/");
  });

  it("the scoring replica's and the router's environment variables and ports", () => {
    assert.deepEqual(naming.SCORING_ENV, {
      port: "PORT",
      host: "HOST",
      service: "AKS_INFERENCE_SERVICE",
      replicaId: "AKS_INFERENCE_REPLICA_ID",
      storageConnectionString: "AKS_INFERENCE_STORAGE_CONNECTION_STRING",
      storageAccountUrl: "AKS_INFERENCE_STORAGE_ACCOUNT_URL",
      packageBlob: "AKS_INFERENCE_PACKAGE_BLOB",
      modelBlobs: "AKS_INFERENCE_MODEL_BLOBS",
      entryScript: "AKS_INFERENCE_ENTRY_SCRIPT",
      collectModelData: "AKS_INFERENCE_COLLECT_MODEL_DATA",
      workDir: "AKS_INFERENCE_WORK_DIR",
      python: "AKS_INFERENCE_PYTHON",
      // Renamed from AKS_INFERENCE_WORKERS: the stack renders it with the image that reads it (one `pulumi up`).
      maxConcurrentRequests: "AKS_INFERENCE_MAX_CONCURRENT_REQUESTS",
      scoringTimeoutMs: "AKS_INFERENCE_SCORING_TIMEOUT_MS",
      maxBodyBytes: "AKS_INFERENCE_MAX_BODY_BYTES",
      gpuCores: "AKS_INFERENCE_GPU_CORES",
      gpuFallbackToCpu: "AKS_INFERENCE_GPU_FALLBACK_TO_CPU",
      gpuPool: "AKS_INFERENCE_GPU_POOL",
      terminationLog: "TERMINATION_LOG",
      replicaToken: "AKS_INFERENCE_REPLICA_TOKEN",
      appInsightsConnectionString: "APPLICATIONINSIGHTS_CONNECTION_STRING",
    });
    assert.deepEqual(naming.ROUTER_ENV, {
      port: "ROUTER_PORT",
      adminPort: "ROUTER_ADMIN_PORT",
      keysDir: "ROUTER_KEYS_DIR",
      tlsCertFile: "ROUTER_TLS_CERT_FILE",
      tlsKeyFile: "ROUTER_TLS_KEY_FILE",
      namespace: "ROUTER_NAMESPACE",
      podName: "ROUTER_POD_NAME",
      podIp: "ROUTER_POD_IP",
      maxBodyBytes: "ROUTER_MAX_BODY_BYTES",
      selfScaling: "ROUTER_SELF_SCALING",
      selfScalingLatencyMs: "ROUTER_SELF_SCALING_LATENCY_MS",
      spoolDir: "ROUTER_SPOOL_DIR",
      spoolBytes: "ROUTER_SPOOL_BYTES",
      tokenIssuerType: "ROUTER_TOKEN_ISSUER_TYPE",
      tokenIssuer: "ROUTER_TOKEN_ISSUER",
      tokenJwksUri: "ROUTER_TOKEN_JWKS_URI",
      tokenSigningKeyFile: "ROUTER_TOKEN_SIGNING_KEY_FILE",
      tokenMaxLifetimeSeconds: "ROUTER_TOKEN_MAX_LIFETIME_SECONDS",
      maxConnections: "ROUTER_MAX_CONNECTIONS",
      trustForwardedFor: "ROUTER_TRUST_FORWARDED_FOR",
    });
    assert.equal(naming.SCORING_PORT, 5001);
    assert.deepEqual(naming.ROUTER_PORTS, { http: 8080, https: 8443, admin: 8081 });
    assert.equal(naming.REPLICA_BUSY_HEADER, "x-aks-inference-replica-busy");
    assert.equal(naming.INIT_FAILED_EXIT_CODE, 3);
  });

  it("Azure tags, GPU node labels, taint and resource (the NVIDIA device plugin's)", () => {
    assert.deepEqual(naming.TAGS, { purpose: "aks-inference-cluster-purpose", stack: "aks-inference-stack", networkPlugin: "aks-inference-network-plugin", tokenRegion: "aks-inference-token-region" });
    assert.equal(naming.GPU_POOL_LABEL, "aks-inference/gpu-pool");
    assert.deepEqual(naming.GPU_TAINT, { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" });
    assert.equal(naming.GPU_TAINT_STRING, "nvidia.com/gpu=present:NoSchedule");
    assert.equal(naming.GPU_RESOURCE, "nvidia.com/gpu");
  });

  it("AKS workload identity's annotation, label, audience and ServiceAccount subject", () => {
    assert.deepEqual(naming.WORKLOAD_IDENTITY, { clientIdAnnotation: "azure.workload.identity/client-id", useLabel: "azure.workload.identity/use", audience: "api://AzureADTokenExchange" });
    assert.equal(naming.serviceAccountSubject("ns", "sa"), "system:serviceaccount:ns:sa");
  });

  it("reads the log level from LOG_LEVEL, falls back when unset or empty, and names the variable and the levels when unknown", () => {
    assert.equal(naming.LOG_LEVEL_ENV, "LOG_LEVEL");
    assert.equal(naming.logLevel({ LOG_LEVEL: "debug" }), "debug");
    assert.equal(naming.logLevel({}), "info");
    assert.equal(naming.logLevel({ LOG_LEVEL: "" }, "warn"), "warn");
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) assert.equal(naming.logLevel({ LOG_LEVEL: level }), level);
    assert.throws(() => naming.logLevel({ LOG_LEVEL: "verbose" }), {
      message: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got 'verbose')",
    });
  });
});
