/**
 * What the stack renders into a model Deployment, the replica reads back, one variable at a time:
 * writer and reader were tested apart, and a reader of `gpuFallbackToCpu` that took any value for
 * "true" passed every test while the stack wrote "false" (every GPU service on its CPU).
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { LABELS, SCORING_ENV, SCORING_PORT, SETTINGS_ANNOTATION } from "../../core/contracts/naming";
import { MAX_PAYLOAD_BYTES } from "../../core/decisions/payloadLimit";
import { parseRoutingSettings, type ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import { readScoringEnv, type ScoringEnvSettings } from "../../core/contracts/scoringEnv";
import { Plan, REPO_ROOT, input, stackConfig } from "../support/stacks";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

const POD_NAME = "model-pysvc-7d4b9c-x2x9q";

describe("replica settings: rendered by the stack, read by the replica", function () {
  this.timeout(60_000);
  const cfg = stackConfig("prod", {
    "aks-inference:services": [
      {
        name: "pysvc",
        sourceDirectory: "samples/diabetes",
        entryScript: "score.py",
        models: [{ name: "sklearn_regression_model.pkl", path: "samples/diabetes/model/sklearn_regression_model.pkl", version: 3 }],
        memoryGb: 1,
        replicaMaxConcurrentRequests: 4,
        scoringTimeoutMs: 9000,
        collectModelData: true,
      },
      { name: "gpu-strict", models: ["samples/models/regressor.onnx"], cpuCores: 2, memoryGb: 8, gpuCores: 1 },
      { name: "gpu-lenient", models: ["samples/models/regressor.onnx"], cpuCores: 2, memoryGb: 8, gpuCores: 1, gpuFallbackToCpu: true },
    ],
  });
  let plan: Plan;
  before(async () => {
    plan = await Plan.of(cfg);
  });

  const resource = (type: string, service: string) => plan.all(type).find((r) => input(r, "metadata", "labels", LABELS.service) === service)!;
  const container = (service: string) => input(resource("kubernetes:apps/v1:Deployment", service), "spec", "template", "spec", "containers", 0) as Record<string, unknown>;
  const rendered = (service: string) => container(service).env as EnvVar[];
  const variable = (service: string, key: keyof typeof SCORING_ENV) => rendered(service).find((e) => e.name === SCORING_ENV[key]);
  /** The replica's settings in the pod (on Kubernetes the host name is the pod's name). */
  const read = (service: string): ScoringEnvSettings =>
    readScoringEnv(Object.fromEntries(rendered(service).map((e) => [e.name, e.value])), { hostname: POD_NAME, tmpDir: "/tmp" });
  /** What the router is told about the service (the Service's annotation). */
  const routing = (service: string): ServiceRoutingSettings =>
    parseRoutingSettings(input(resource("kubernetes:core/v1:Service", service), "metadata", "annotations", SETTINGS_ANNOTATION) as string, service, service);

  // One check per variable the replica reads; a variable added without one does not compile.
  const checks: Record<keyof typeof SCORING_ENV, () => void> = {
    service: () => assert.equal(read("pysvc").service, "pysvc"),
    replicaId: () => {
      assert.deepEqual(variable("pysvc", "replicaId")?.valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
      assert.equal(read("pysvc").replicaId, POD_NAME);
    },
    host: () => {
      assert.equal(variable("pysvc", "host"), undefined);
      assert.equal(read("pysvc").host, "0.0.0.0", "the router and the kubelet's probes reach the pod's IP");
    },
    port: () => {
      const c = container("pysvc") as { ports: { containerPort: number }[]; readinessProbe: { httpGet: { port: number } } };
      assert.equal(read("pysvc").port, SCORING_PORT);
      assert.equal(read("pysvc").port, c.ports[0].containerPort);
      assert.equal(read("pysvc").port, c.readinessProbe.httpGet.port);
    },
    storageConnectionString: () => assert.equal(read("pysvc").storage.connectionString, undefined, "no account key on the cluster"),
    storageAccountUrl: () => assert.equal(read("pysvc").storage.accountUrl, `https://${cfg.storageAccountName}.blob.core.windows.net`),
    workDir: () => {
      const mounts = container("pysvc").volumeMounts as { name: string; mountPath: string }[];
      assert.equal(read("pysvc").workDir, "/work");
      assert.equal(mounts.find((m) => m.name === "work")?.mountPath, read("pysvc").workDir, "the writable emptyDir");
    },
    packageBlob: () => {
      assert.match(read("pysvc").packageBlob, /^pysvc\/[0-9a-f]{16}\.zip$/);
      assert.equal(read("gpu-strict").packageBlob, "");
    },
    modelBlobs: () => {
      const [model, ...more] = read("pysvc").models;
      assert.deepEqual([model.name, model.version, more], ["sklearn_regression_model.pkl", 3, []]);
      assert.match(model.prefix, /^sklearn_regression_model\.pkl\/[0-9a-f]+\/$/);
    },
    entryScript: () => {
      assert.equal(read("pysvc").entryScript, "score.py");
      assert.equal(read("gpu-strict").entryScript, "", "the built-in ONNX handler");
    },
    collectModelData: () => {
      assert.equal(read("pysvc").collectModelData, true);
      assert.equal(read("gpu-strict").collectModelData, false);
    },
    python: () => {
      assert.equal(variable("pysvc", "python"), undefined, "the environment image sets it");
      assert.match(readFileSync(path.join(REPO_ROOT, "scoring", "python.Dockerfile"), "utf8"), new RegExp(`\\b${SCORING_ENV.python}=/azureml-envs/service/bin/python\\b`));
    },
    maxConcurrentRequests: () => {
      assert.equal(read("pysvc").maxConcurrentRequests, 4);
      assert.equal(read("pysvc").maxConcurrentRequests, routing("pysvc").maxConcurrentRequestsPerReplica, "the router's share per replica is the replica's own limit");
      assert.equal(read("gpu-strict").maxConcurrentRequests, 1);
    },
    scoringTimeoutMs: () => {
      assert.equal(read("pysvc").scoringTimeoutMs, 9000);
      assert.equal(read("pysvc").scoringTimeoutMs, routing("pysvc").scoringTimeoutMs);
    },
    maxBodyBytes: () => {
      // A 1 GB Python service holds about 47 MB of JSON (core/decisions/payloadLimit.ts): less than the router's 100 MB.
      assert.equal(read("pysvc").maxBodyBytes, Math.floor(((1024 - 170) / 18) * 1024 * 1024));
      for (const service of ["pysvc", "gpu-strict"]) assert.equal(read(service).maxBodyBytes, routing(service).maxBodyBytes, `${service}: the limit the router announces`);
      assert.equal(read("gpu-strict").maxBodyBytes, MAX_PAYLOAD_BYTES);
    },
    gpuCores: () => {
      assert.equal(read("gpu-strict").gpu.gpuCores, 1);
      assert.equal(read("pysvc").gpu.gpuCores, 0);
    },
    gpuFallbackToCpu: () => {
      assert.equal(variable("gpu-strict", "gpuFallbackToCpu")?.value, "false", "the stack writes the word");
      assert.equal(read("gpu-strict").gpu.fallbackToCpu, false, "a GPU service without gpuFallbackToCpu must fail rather than run on its CPU");
      assert.equal(read("gpu-lenient").gpu.fallbackToCpu, true);
      assert.equal(read("pysvc").gpu.fallbackToCpu, false);
    },
    gpuPool: () => {
      assert.equal(read("gpu-strict").gpu.pool, "gput4");
      assert.equal(read("pysvc").gpu.pool, undefined);
    },
    terminationLog: () => {
      assert.equal(variable("pysvc", "terminationLog"), undefined);
      assert.equal(read("pysvc").terminationLog, "/dev/termination-log", "Kubernetes' terminationMessagePath");
      assert.equal(container("pysvc").terminationMessagePath, undefined, "the container keeps Kubernetes' default path");
    },
    replicaToken: () => assert.equal(read("pysvc").replicaToken, undefined, "on a cluster NetworkPolicies keep callers away, not a secret"),
    appInsightsConnectionString: () => assert.equal(read("pysvc").appInsightsConnectionString, undefined, "a service without appInsightsEnabled gets none"),
  };
  for (const [key, check] of Object.entries(checks)) it(`${key} (${SCORING_ENV[key as keyof typeof SCORING_ENV]})`, check);

  it("renders no variable the replica does not read", () => {
    const known = new Set<string>(Object.values(SCORING_ENV));
    for (const service of ["pysvc", "gpu-strict"]) assert.deepEqual(rendered(service).filter((e) => !known.has(e.name)), [], service);
  });

  it("the environment images set only variables the replica reads", () => {
    const known = new Set<string>(Object.values(SCORING_ENV));
    for (const file of ["Dockerfile", "python.Dockerfile"]) {
      const text = readFileSync(path.join(REPO_ROOT, "scoring", file), "utf8").replace(/\\\n/g, " ");
      const names = [...text.matchAll(/^ENV (.*)$/gm)].flatMap((m) => [...m[1].matchAll(/(\w+)=/g)].map((n) => n[1]));
      const ours = names.filter((n) => n === SCORING_ENV.port || n.startsWith("AKS_INFERENCE_"));
      assert.ok(ours.length >= 2, `${file}: ${names.join(", ")}`);
      assert.deepEqual(ours.filter((n) => !known.has(n)), [], file);
    }
  });
});
