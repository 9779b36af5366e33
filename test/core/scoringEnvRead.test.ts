/** The replica's environment on its own: defaults, local mode's environment read back, each refusal's exact message. */
import * as assert from "node:assert/strict";
import { parseStackConfig, versionsOf } from "../../core/config";
import { SCORING_ENV } from "../../core/contracts/naming";
import { readScoringEnv, scoringEnv, serviceScoringEnv, type ScoringEnvSettings } from "../../core/contracts/scoringEnv";
import { replicaEnv } from "../../packaging/upload";

const MACHINE = { hostname: "pod-1", tmpDir: "/tmp" };
const MiB = 1024 * 1024;

describe("replica environment", () => {
  it("defaults: port 5001 on every interface, one request at a time, 60 s, Azure ML's 100 MB, CPU", () => {
    assert.deepEqual(readScoringEnv({ AKS_INFERENCE_SERVICE: "svc" }, MACHINE), {
      service: "svc",
      replicaId: "pod-1",
      host: "0.0.0.0",
      port: 5001,
      storage: { connectionString: undefined, accountUrl: undefined },
      workDir: "/tmp/aks-inference-svc-pod-1",
      packageBlob: "",
      models: [],
      entryScript: "",
      collectModelData: false,
      python: "python3",
      maxConcurrentRequests: 1,
      scoringTimeoutMs: 60_000,
      maxBodyBytes: 100 * MiB,
      gpu: { gpuCores: 0, fallbackToCpu: false, pool: undefined },
      terminationLog: "/dev/termination-log",
      replicaToken: undefined,
      appInsightsConnectionString: undefined,
    });
  });

  it("an empty variable counts as unset", () => {
    const empty = Object.fromEntries(Object.values(SCORING_ENV).map((name) => [name, ""]));
    assert.deepEqual(readScoringEnv({ ...empty, AKS_INFERENCE_SERVICE: "svc" }, MACHINE), readScoringEnv({ AKS_INFERENCE_SERVICE: "svc" }, MACHINE));
  });

  it("reads back every setting the writer renders", () => {
    const all: ScoringEnvSettings = {
      service: "svc",
      replicaId: "svc-2",
      host: "127.0.0.1",
      port: 40123,
      storage: { connectionString: "UseDevelopmentStorage=true", accountUrl: "https://acct.blob.core.windows.net" },
      workDir: "/var/work",
      packageBlob: "svc/0123456789abcdef.zip",
      models: [{ name: "m", version: 2, prefix: "m/abc/" }],
      entryScript: "score.py",
      collectModelData: true,
      python: "/usr/bin/python3",
      maxConcurrentRequests: 3,
      scoringTimeoutMs: 1500,
      maxBodyBytes: 2_778_726,
      gpu: { gpuCores: 2, fallbackToCpu: true, pool: "gput4" },
      terminationLog: "/tmp/term",
      replicaToken: "s3cret",
      appInsightsConnectionString: "InstrumentationKey=00000000-0000-0000-0000-000000000000",
    };
    assert.deepEqual(readScoringEnv(scoringEnv(all), MACHINE), all);
    assert.equal(readScoringEnv(scoringEnv({ ...all, gpu: { gpuCores: 1, fallbackToCpu: false } }), MACHINE).gpu.fallbackToCpu, false);
  });

  it("local mode: a replica's environment reads back as the service's settings, with the service's own body limit", () => {
    const cfg = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:router": { payloadLimitMb: 20 }, "aks-inference:services": [{ name: "jssvc", sourceDirectory: "p", entryScript: "score.js", memoryGb: 0.25, replicaMaxConcurrentRequests: 3, scoringTimeoutMs: 2500, collectModelData: true }] }, "t");
    const v = versionsOf(cfg.services[0])[0];
    const env = replicaEnv(v, { packageBlob: "jssvc/abc.zip", models: [] }, "UseDevelopmentStorage=true", 20 * MiB);
    const read = readScoringEnv({ ...env, ...scoringEnv({ host: "127.0.0.1", port: 40000, replicaId: "jssvc-1", workDir: "/w", terminationLog: "/t", replicaToken: "tok" }) }, MACHINE);
    assert.deepEqual(
      { ...read, maxBodyBytes: undefined },
      {
        service: "jssvc",
        replicaId: "jssvc-1",
        host: "127.0.0.1",
        port: 40000,
        storage: { connectionString: "UseDevelopmentStorage=true", accountUrl: undefined },
        workDir: "/w",
        packageBlob: "jssvc/abc.zip",
        models: [],
        entryScript: "score.js",
        collectModelData: true,
        python: "python3",
        maxConcurrentRequests: 3,
        scoringTimeoutMs: 2500,
        maxBodyBytes: undefined,
        gpu: { gpuCores: 0, fallbackToCpu: false, pool: undefined },
        terminationLog: "/t",
        replicaToken: "tok",
        appInsightsConnectionString: undefined,
      },
    );
    // 256 MB for a JavaScript script: (256 - 130) / 18 = 7 MB; below the router's 20 MB.
    assert.equal(read.maxBodyBytes, 7 * MiB);
    assert.equal(readScoringEnv(serviceScoringEnv({ ...v, memoryGb: 64 }, { packageBlob: "", models: [] }, 20 * MiB), MACHINE).maxBodyBytes, 20 * MiB, "never above the router's limit");
  });

  it("refuses what it cannot use, naming the variable and the value", () => {
    const cases: [string, string, string][] = [
      ["PORT", "http", "PORT must be a positive integer (got 'http')"],
      ["PORT", "0", "PORT must be a positive integer (got '0')"],
      ["AKS_INFERENCE_MAX_CONCURRENT_REQUESTS", "0", "AKS_INFERENCE_MAX_CONCURRENT_REQUESTS must be a positive integer (got '0')"],
      ["AKS_INFERENCE_SCORING_TIMEOUT_MS", "1.5", "AKS_INFERENCE_SCORING_TIMEOUT_MS must be a positive integer (got '1.5')"],
      ["AKS_INFERENCE_MAX_BODY_BYTES", "-1", "AKS_INFERENCE_MAX_BODY_BYTES must be a positive integer (got '-1')"],
      ["AKS_INFERENCE_GPU_CORES", "one", "AKS_INFERENCE_GPU_CORES must be a whole number (got 'one')"],
      ["AKS_INFERENCE_GPU_FALLBACK_TO_CPU", "yes", "AKS_INFERENCE_GPU_FALLBACK_TO_CPU must be 'true' or 'false' (got 'yes')"],
      ["AKS_INFERENCE_COLLECT_MODEL_DATA", "True", "AKS_INFERENCE_COLLECT_MODEL_DATA must be 'true' or 'false' (got 'True')"],
      ["AKS_INFERENCE_MODEL_BLOBS", "[{", "AKS_INFERENCE_MODEL_BLOBS is not valid JSON"],
      ["AKS_INFERENCE_MODEL_BLOBS", '{"name":"m"}', "AKS_INFERENCE_MODEL_BLOBS must be a JSON list of { name, version, prefix }"],
      ["AKS_INFERENCE_MODEL_BLOBS", '[{"name":"m","version":"1","prefix":"m/a/"}]', "AKS_INFERENCE_MODEL_BLOBS must be a JSON list of { name, version, prefix }"],
    ];
    for (const [name, value, message] of cases) assert.throws(() => readScoringEnv({ AKS_INFERENCE_SERVICE: "svc", [name]: value }, MACHINE), { message }, `${name}=${value}`);
    assert.throws(() => readScoringEnv({}, MACHINE), { message: "AKS_INFERENCE_SERVICE is not set" });
    assert.equal(readScoringEnv({ AKS_INFERENCE_SERVICE: "svc", AKS_INFERENCE_GPU_CORES: "0" }, MACHINE).gpu.gpuCores, 0, "0 GPUs is a CPU service");
  });
});
