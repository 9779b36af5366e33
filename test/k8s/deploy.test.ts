/** Router and model services on the cluster, from the shipped stacks, evaluated offline. */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { GPU_POOL_LABEL, LABELS, MODEL_COUNT_ANNOTATION, ROUTER_ENV, SCORING_ENV, SETTINGS_ANNOTATION, keySecretName } from "../../core/contracts/naming";
import { SECRET, UNKNOWN } from "../../scripts/offline";
import { Plan, input, stackConfig } from "../support/stacks";

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  secret: "kubernetes:core/v1:Secret",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  image: "docker-build:index:Image",
  upload: "pulumi-nodejs:dynamic/aks-inference:UploadedBlob",
  hpa: /HorizontalPodAutoscaler/,
};

type Container = { image: string; env: { name: string; value?: string }[]; resources: { requests: Record<string, string>; limits: Record<string, string> } };
const podSpec = (r: Parameters<typeof input>[0]) => input(r, "spec", "template", "spec") as { containers: Container[]; tolerations?: { key: string; effect: string }[]; nodeSelector?: Record<string, string> };
const envOf = (r: Parameters<typeof input>[0]) => Object.fromEntries(podSpec(r).containers[0].env.map((e) => [e.name, e.value]));

describe("deploying router and model services", function () {
  this.timeout(60_000);
  let dev: Plan;
  let prod: Plan;
  before(async () => {
    dev = await Plan.of(stackConfig("dev"));
    prod = await Plan.of(stackConfig("prod"));
  });
  const modelDeployments = (p: Plan) => p.all(T.deployment).filter((d) => input(d, "metadata", "labels", LABELS.role) === "model");
  const routerDeployments = (p: Plan) => p.all(T.deployment).filter((d) => input(d, "metadata", "labels", LABELS.role) === "router");

  it("runs one router per cluster, with a PodDisruptionBudget and surge-only rolling updates", () => {
    for (const p of [dev, prod]) {
      assert.equal(routerDeployments(p).length, 1);
      // The router's; multi-replica model services have their own (test/k8s/disruption.test.ts).
      assert.equal(p.all(T.pdb).filter((b) => input(b, "metadata", "labels", LABELS.role) === "router").length, 1);
      const d = routerDeployments(p)[0];
      assert.equal(input(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"), 0);
    }
    assert.equal(input(routerDeployments(dev)[0], "spec", "replicas"), 1);
    assert.equal(input(routerDeployments(prod)[0], "spec", "replicas"), 3);
  });

  it("scopes the router's RBAC to what it watches and scales", () => {
    const rules = input(prod.one(T.role), "rules") as { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    const verbs = (res: string) => rules.filter((r) => r.resources.includes(res)).flatMap((r) => r.verbs);
    assert.deepEqual(verbs("endpointslices").sort(), ["get", "list", "watch"]);
    assert.deepEqual(verbs("deployments/scale").sort(), ["get", "patch", "update"]);
    assert.ok(!rules.some((r) => r.verbs.includes("*") || r.resources.includes("*")), "no wildcards");
    assert.ok(!verbs("secrets").some((v) => ["create", "update", "patch", "delete"].includes(v)), "reads secrets only");
  });

  it("ties the router's drain to the scoring timeout, and turns self-scaling on only outside DevTest", () => {
    const spec = podSpec(routerDeployments(dev)[0]) as unknown as { terminationGracePeriodSeconds: number };
    assert.ok(spec.terminationGracePeriodSeconds >= 60, `grace ${spec.terminationGracePeriodSeconds} s < the 60 s scoring timeout`);
    assert.equal(envOf(routerDeployments(dev)[0])[ROUTER_ENV.selfScaling], "false");
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.selfScaling], "true");
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.maxBodyBytes], String(100 * 1024 * 1024));
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.tlsCertFile], "/etc/aks-inference/tls/tls.pem", "prod: the Key Vault bundle");
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.tokenIssuerType], "oidc");
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.tokenMaxLifetimeSeconds], "86400");
    assert.equal(envOf(routerDeployments(prod)[0])[ROUTER_ENV.trustForwardedFor], "false");
  });

  it("creates a Deployment, a Service with routing settings and a key Secret per key-auth service", () => {
    for (const svc of stackConfig("prod").services) {
      const d = modelDeployments(prod).find((x) => input(x, "metadata", "labels", LABELS.service) === svc.name);
      assert.ok(d, `no Deployment for ${svc.name}`);
      assert.equal(input(d, "metadata", "annotations", MODEL_COUNT_ANNOTATION), String(svc.models.length));
      const s = prod.all(T.service).find((x) => input(x, "metadata", "labels", LABELS.service) === svc.name);
      assert.ok(s, `no Service for ${svc.name}`);
      const settings = JSON.parse(String(input(s, "metadata", "annotations", SETTINGS_ANNOTATION))) as { authMode: string; autoscale: { maxReplicas: number } };
      assert.equal(settings.authMode, svc.authMode);
      const secret = prod.all(T.secret).find((x) => input(x, "metadata", "name") === keySecretName(svc.name));
      assert.equal(Boolean(secret), svc.authMode === "key", `key Secret of ${svc.name}`);
    }
  });

  it("keeps keys secret in state", () => {
    const keySecrets = dev.all(T.secret).filter((x) => String(input(x, "metadata", "name")).endsWith("-keys"));
    assert.equal(keySecrets.length, stackConfig("dev").services.filter((s) => s.authMode === "key").length);
    for (const s of keySecrets) assert.ok([SECRET, UNKNOWN].includes(String(input(s, "stringData"))), `stringData is ${JSON.stringify(input(s, "stringData"))}`);
  });

  it("schedules GPU services on the tainted GPU pool and requests nvidia.com/gpu", () => {
    const gpu = modelDeployments(prod).find((x) => input(x, "metadata", "labels", LABELS.service) === "regressor-gpu")!;
    const spec = podSpec(gpu);
    assert.ok(spec.tolerations?.some((t) => t.key === "nvidia.com/gpu" && t.effect === "NoSchedule"));
    assert.deepEqual(spec.nodeSelector, { [GPU_POOL_LABEL]: "gput4" });
    assert.equal(spec.containers[0].resources.limits["nvidia.com/gpu"], "1");
    const cpuOnly = modelDeployments(prod).find((x) => input(x, "metadata", "labels", LABELS.service) === "regressor")!;
    assert.equal(podSpec(cpuOnly).tolerations, undefined);
    assert.deepEqual(podSpec(cpuOnly).containers[0].resources.requests, { cpu: "1000m", memory: "2048Mi" });
  });

  it("gives model pods the service environment local mode gives its replicas: concurrent requests, scoring timeout, no storage key", () => {
    const custom = stackConfig("dev", {
      "aks-inference:services": [{ name: "pysvc", sourceDirectory: "samples/diabetes", entryScript: "score.py", models: [{ name: "sklearn_regression_model.pkl", path: "samples/diabetes/model/sklearn_regression_model.pkl", version: 3 }], replicaMaxConcurrentRequests: 4, scoringTimeoutMs: 9000 }],
    });
    return Plan.of(custom).then((p) => {
      const env = envOf(modelDeployments(p)[0]);
      assert.equal(env[SCORING_ENV.maxConcurrentRequests], "4");
      assert.equal(env[SCORING_ENV.scoringTimeoutMs], "9000");
      assert.equal(env[SCORING_ENV.entryScript], "score.py");
      assert.deepEqual((JSON.parse(env[SCORING_ENV.modelBlobs]!) as { name: string; version: number }[]).map((m) => [m.name, m.version]), [["sklearn_regression_model.pkl", 3]]);
      assert.equal(env[SCORING_ENV.storageConnectionString], undefined);
    });
  });

  it("never creates a HorizontalPodAutoscaler", () => {
    for (const p of [dev, prod]) assert.equal(p.resources.filter((r) => T.hpa.test(r.type)).length, 0);
  });

  it("tags images by content hash and builds one image for services sharing an environment", () => {
    const images = prod.all(T.image);
    const env = images.filter((i) => i.name.startsWith("images-env-"));
    // The CPU services share one image; the GPU service gets the CUDA variant of the same environment.
    const cuda = env.filter((i) => input(i, "buildArgs", "ONNXRUNTIME_NODE_INSTALL") === "cuda12");
    assert.equal(env.length, 2, "CPU services share one image, the GPU service has its own");
    assert.equal(cuda.length, 1);
    for (const e of env) assert.deepEqual(input(e, "tags"), [`aksinfprodacr.azurecr.io/aks-inference-env:${e.name.slice("images-env-".length)}`]);
    for (const e of env) assert.match(String(input(e, "tags", 0)), /:[0-9a-f]{16}$/);
    assert.deepEqual(input(env[0], "registries"), [{ address: "aksinfprodacr.azurecr.io", username: "00000000-0000-0000-0000-000000000000", password: SECRET }]);
    const custom = stackConfig("prod", {
      "aks-inference:services": [
        { name: "one", models: ["samples/models/regressor.onnx"] },
        { name: "two", models: ["samples/models/regressor.onnx"], environment: { baseImage: "mcr.microsoft.com/azurelinux/base/nodejs:22" } },
      ],
    });
    return Plan.of(custom).then((p) => assert.equal(p.all(T.image).filter((i) => i.name.startsWith("images-env-")).length, 2, "a different base image is a different environment"));
  });

  it("deploys the router only after the firewall rules exist, and model services after the router", () => {
    const router = routerDeployments(prod)[0];
    for (const g of prod.all("azure-native:network:FirewallPolicyRuleCollectionGroup")) assert.ok(prod.dependsOn(router, g), `router does not wait for ${g.name}`);
    for (const d of modelDeployments(prod)) assert.ok(prod.dependsOn(d, router), `${d.name} does not wait for the router`);
  });

  it("uploads each package and model once, content-addressed, with the deployer's Entra identity, before the model pods start", () => {
    assert.equal(prod.all("azure-native:storage:Blob").length, 0, "azure-native's Blob signs with the account key, which the account refuses");
    const blobs = prod.all(T.upload);
    const names = blobs.map((b) => String(input(b, "blobName"))).sort();
    assert.deepEqual(names.map((n) => n.replace(/[0-9a-f]{16}/, "<hash>")), ["echo/<hash>.zip", "regressor/<hash>/regressor.onnx"]);
    for (const b of blobs) assert.equal(input(b, "accountUrl"), "https://aksinfprodst.blob.core.windows.net");
    const zip = String(input(blobs.find((b) => String(input(b, "blobName")).startsWith("echo/"))!, "file"));
    assert.ok(existsSync(zip) && zip.endsWith(".zip"), `package zip ${zip} written for the upload`);
    const echo = modelDeployments(prod).find((x) => input(x, "metadata", "labels", LABELS.service) === "echo")!;
    assert.ok(prod.dependsOn(echo, blobs.find((b) => String(input(b, "blobName")).startsWith("echo/"))!));
    // The upload waits for the deployer's Storage Blob Data Contributor grant on its container.
    const grants = prod.all("azure-native:authorization:RoleAssignment").filter((r) => r.name.startsWith("storage-deployer-"));
    assert.deepEqual(grants.map((g) => g.name).sort(), ["storage-deployer-models-write", "storage-deployer-packages-write"]);
    for (const g of grants) assert.equal(input(g, "principalType"), "ServicePrincipal", "the offline deployer is an application (as in CI), not the SDK's default User");
    for (const b of blobs) for (const g of grants) assert.ok(prod.dependsOn(b, g), `${b.name} does not wait for ${g.name}`);
  });

  it("shows the Kubernetes objects in the first preview, before the cluster exists", async () => {
    const preview = await Plan.of(stackConfig("prod"), true);
    assert.equal(input(preview.one("pulumi:providers:kubernetes"), "kubeconfig"), UNKNOWN);
    assert.equal(modelDeployments(preview).length, 3);
    assert.equal(routerDeployments(preview).length, 1);
  });
});
