/** Each guard rail both ways, and the shipped stacks through the whole pack. */
import * as assert from "node:assert/strict";
import { GPU_POOL_LABEL, GPU_TAINT_STRING, LABELS, MODEL_COUNT_ANNOTATION, ROUTER_ENV, SETTINGS_ANNOTATION, TAGS } from "../../core/contracts/naming";
import { evaluate, rules, type Res } from "../../policies/rules";
import type { ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import { Plan, stackConfig } from "../support/stacks";
import { settings } from "../support/upstream";

const rule = (name: string) => {
  const r = rules.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};
const resourceMessages = (name: string, r: Res) => rule(name).resource!(r);
const stackMessages = (name: string, all: Res[]) => rule(name).stack!(all).map((v) => v.message);

const cluster = (purpose: string, extra: Record<string, unknown> = {}): Res => ({
  type: "azure-native:containerservice:ManagedCluster",
  name: "aks",
  props: { location: "westeurope", resourceName: "aks-prod", tags: { [TAGS.purpose]: purpose }, ...extra },
});
const modelDeployment = (spec: Record<string, unknown>, annotations: Record<string, string> = {}): Res => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "svc-a-deployment",
  props: { metadata: { name: "model-a", labels: { [LABELS.role]: "model", [LABELS.service]: "a" }, annotations }, spec: { template: { spec } } },
});
const routerDeployment = (env: Record<string, string>): Res => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "router-deployment",
  props: { metadata: { labels: { [LABELS.role]: "router" } }, spec: { template: { spec: { containers: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } } } },
});
const modelService = (authMode: string): Res => ({
  type: "kubernetes:core/v1:Service",
  name: "svc-a-service",
  props: { metadata: { labels: { [LABELS.role]: "model", [LABELS.service]: "a" }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings("a", { authMode: authMode as ServiceRoutingSettings["authMode"] })) } } },
});
const gpuPool = (tainted: boolean): Res => ({
  type: "azure-native:containerservice:AgentPool",
  name: "gpu",
  props: { nodeTaints: tainted ? [GPU_TAINT_STRING] : [], nodeLabels: { [GPU_POOL_LABEL]: "gpu" } },
});

describe("policy pack", () => {
  it("forbids a HorizontalPodAutoscaler on a model deployment, not on other workloads", () => {
    const hpa = (target: string): Res => ({ type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", name: "hpa", props: { spec: { scaleTargetRef: { kind: "Deployment", name: target } } } });
    const model = modelDeployment({ containers: [] });
    assert.match(stackMessages("no-hpa-on-model-deployments", [model, hpa("model-a")])[0], /router autoscales/);
    assert.deepEqual(stackMessages("no-hpa-on-model-deployments", [model, hpa("frontend")]), []);
  });

  it("requires the ACR admin user off", () => {
    const acr = (adminUserEnabled: boolean): Res => ({ type: "azure-native:containerregistry:Registry", name: "acr", props: { adminUserEnabled } });
    assert.match(resourceMessages("acr-admin-user-disabled", acr(true))[0], /adminUserEnabled: false/);
    assert.deepEqual(resourceMessages("acr-admin-user-disabled", acr(false)), []);
  });

  it("requires storage without public blob access", () => {
    const sa = (allow?: boolean): Res => ({ type: "azure-native:storage:StorageAccount", name: "st", props: allow === undefined ? {} : { allowBlobPublicAccess: allow } });
    assert.equal(resourceMessages("storage-no-public-blob-access", sa(true)).length, 1);
    assert.equal(resourceMessages("storage-no-public-blob-access", sa()).length, 1, "unset means Azure's default, which may allow it");
    assert.deepEqual(resourceMessages("storage-no-public-blob-access", sa(false)), []);
  });

  it("refuses a version split that does not sum to 100, and a mirror that takes live traffic", () => {
    const version = (name: string, traffic: number, mirrorPercent = 0): Res => ({
      type: "kubernetes:core/v1:Service",
      urn: `urn:${name}`,
      name: `fraud-${name}-service`,
      props: { metadata: { labels: { [LABELS.role]: "model", [LABELS.service]: "fraud" }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings("fraud", { version: { name, traffic, mirrorPercent } })) } } },
    });
    assert.deepEqual(stackMessages("version-split-sums-to-100", [version("blue", 90), version("green", 10), version("shadow", 0, 20), modelService("key")]), []);
    assert.deepEqual(stackMessages("version-split-sums-to-100", [version("blue", 80), version("green", 10)]), [
      "Service 'fraud': versions of 'fraud' must sum to 100, got 90. Set the versions' traffic (and mirrorPercent) in services[].versions of the stack config.",
    ]);
    const mirrorLive = rule("version-split-sums-to-100").stack!([version("blue", 90), version("green", 10, 10)]);
    assert.deepEqual(mirrorLive.map((v) => [v.urn, v.message]), [["urn:green", "Service 'fraud': version 'green' takes live traffic (10 %): a mirror version takes none. Set the versions' traffic (and mirrorPercent) in services[].versions of the stack config."]]);
  });

  it("allows at most 1,000 models per model deployment", () => {
    assert.match(resourceMessages("max-1000-models-per-deployment", modelDeployment({}, { [MODEL_COUNT_ANNOTATION]: "1001" }))[0], /Split the service/);
    assert.deepEqual(resourceMessages("max-1000-models-per-deployment", modelDeployment({}, { [MODEL_COUNT_ANNOTATION]: "1000" })), []);
  });

  it("caps the router payload limit at 100 MB", () => {
    assert.match(resourceMessages("payload-limit-at-most-100mb", routerDeployment({ [ROUTER_ENV.maxBodyBytes]: String(200 * 1024 * 1024) }))[0], /Lower router.payloadLimitMb/);
    assert.equal(resourceMessages("payload-limit-at-most-100mb", routerDeployment({})).length, 1, "a router without a limit");
    assert.deepEqual(resourceMessages("payload-limit-at-most-100mb", routerDeployment({ [ROUTER_ENV.maxBodyBytes]: String(100 * 1024 * 1024) })), []);
  });

  it("requires auth and TLS outside DevTest only", () => {
    assert.match(stackMessages("auth-outside-devtest", [cluster("FastProd"), modelService("none")])[0], /auth disabled/);
    assert.deepEqual(stackMessages("auth-outside-devtest", [cluster("DevTest"), modelService("none")]), []);
    assert.deepEqual(stackMessages("auth-outside-devtest", [cluster("FastProd"), modelService("key")]), []);
    assert.match(stackMessages("tls-outside-devtest", [cluster("DenseProd"), routerDeployment({})])[0], /endpoint.tls/);
    assert.deepEqual(stackMessages("tls-outside-devtest", [cluster("DenseProd"), routerDeployment({ [ROUTER_ENV.tlsCertFile]: "/tls/tls.crt" })]), []);
    assert.deepEqual(stackMessages("tls-outside-devtest", [cluster("DevTest"), routerDeployment({})]), []);
  });

  it("keeps GPU model deployments on tainted GPU pools", () => {
    const gpuSpec = (tolerate: boolean, pool?: string) => ({
      containers: [{ resources: { limits: { "nvidia.com/gpu": "1" } } }],
      tolerations: tolerate ? [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] : [],
      nodeSelector: pool ? { [GPU_POOL_LABEL]: pool } : undefined,
    });
    assert.deepEqual(stackMessages("gpu-services-on-tainted-gpu-pools", [gpuPool(true), modelDeployment(gpuSpec(true, "gpu"))]), []);
    assert.match(stackMessages("gpu-services-on-tainted-gpu-pools", [gpuPool(true), modelDeployment(gpuSpec(false, "gpu"))])[0], /lacks the toleration/);
    assert.match(stackMessages("gpu-services-on-tainted-gpu-pools", [gpuPool(false), modelDeployment(gpuSpec(true, "gpu"))])[0], /not a tainted GPU pool/);
    assert.match(stackMessages("gpu-services-on-tainted-gpu-pools", [gpuPool(true), modelDeployment(gpuSpec(true))])[0], /selects none/);
    assert.deepEqual(stackMessages("gpu-services-on-tainted-gpu-pools", [modelDeployment({ containers: [{ resources: { limits: { cpu: "1" } } }] })]), []);
  });

  it("requires a CNI stack's egress to cover every required host", () => {
    const cni = cluster("FastProd", { networkProfile: { networkPlugin: "azure" } });
    const acr: Res = { type: "azure-native:containerregistry:Registry", name: "acr", props: { registryName: "prodacr", dataEndpointEnabled: true } };
    const sa: Res = { type: "azure-native:storage:StorageAccount", name: "st", props: { accountName: "prodst" } };
    const group = (fqdns: string[]): Res => ({
      type: "azure-native:network:FirewallPolicyRuleCollectionGroup",
      name: "rules",
      props: { ruleCollections: [{ rules: [{ ruleType: "ApplicationRule", fqdnTags: ["AzureKubernetesService"], targetFqdns: fqdns }] }] },
    });
    const all = ["*.hcp.westeurope.azmk8s.io", "mcr.microsoft.com", "*.data.mcr.microsoft.com", "prodst.table.core.windows.net", "aks-prod.westeurope.cloudapp.azure.com", "prodacr.azurecr.io", "prodacr.westeurope.data.azurecr.io", "prodst.blob.core.windows.net"];
    assert.deepEqual(stackMessages("cni-firewall-covers-required-hosts", [cni, acr, sa, group(all)]), []);
    const missing = stackMessages("cni-firewall-covers-required-hosts", [cni, acr, sa, group(all.filter((h) => h !== "prodacr.azurecr.io"))]);
    assert.match(missing[0], /prodacr\.azurecr\.io \(Azure Container Registry/);
    const standardAcr: Res = { ...acr, props: { registryName: "prodacr" } };
    assert.match(stackMessages("cni-firewall-covers-required-hosts", [cni, standardAcr, sa, group(all)])[0], /\*\.blob\.core\.windows\.net \(ACR layer storage\)/, "without a data endpoint, layers come from ACR's own storage accounts");
    assert.match(stackMessages("cni-firewall-covers-required-hosts", [cni, acr, sa])[0], /Set egress: firewall/);
    assert.deepEqual(stackMessages("cni-firewall-covers-required-hosts", [cluster("FastProd", { networkProfile: { networkPlugin: "kubenet" } }), acr, sa]), [], "kubenet: not the stack's DNS/egress to prove");
  });

  it("advises on token region, Defender and DevTest self-scaling", () => {
    assert.match(resourceMessages("token-issuer-region-matches-cluster", cluster("FastProd", { tags: { [TAGS.purpose]: "FastProd", [TAGS.tokenRegion]: "eastus" } }))[0], /one region/);
    assert.deepEqual(resourceMessages("token-issuer-region-matches-cluster", cluster("FastProd", { tags: { [TAGS.tokenRegion]: "West Europe" } })), []);
    assert.match(resourceMessages("defender-outside-devtest", cluster("FastProd"))[0], /defender: true/);
    assert.deepEqual(resourceMessages("defender-outside-devtest", cluster("DevTest")), []);
    assert.deepEqual(resourceMessages("defender-outside-devtest", cluster("FastProd", { securityProfile: { defender: { logAnalyticsWorkspaceResourceId: "w" } } })), []);
    assert.equal(stackMessages("devtest-without-router-self-scaling", [cluster("DevTest"), routerDeployment({ [ROUTER_ENV.selfScaling]: "true" })]).length, 1);
    assert.deepEqual(stackMessages("devtest-without-router-self-scaling", [cluster("FastProd"), routerDeployment({ [ROUTER_ENV.selfScaling]: "true" })]), []);
    for (const name of ["token-issuer-region-matches-cluster", "defender-outside-devtest", "devtest-without-router-self-scaling"]) assert.equal(rule(name).enforcementLevel, "advisory");
  });

  describe("the shipped example stacks", function () {
    this.timeout(60_000);
    for (const stack of ["dev", "prod"]) {
      it(`${stack} passes the whole pack`, async () => {
        const plan = await Plan.shared(stackConfig(stack));
        const violations = evaluate(plan.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })));
        assert.deepEqual(violations.map((v) => `${v.rule.name}: ${v.violation.message}`), []);
      });
    }

    it("a variation of prod that breaks the rules is caught", async () => {
      const plan = await Plan.shared(
        stackConfig("prod", {
          "aks-inference:endpoint": { customDomain: "ml.contoso.com", internalIp: "10.240.0.200" },
          "aks-inference:services": [{ name: "open", models: ["samples/models/regressor.onnx"], authEnabled: false }],
          "aks-inference:defender": false,
        }),
      );
      const names = evaluate(plan.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }))).map((v) => v.rule.name);
      assert.deepEqual([...new Set(names)].sort(), ["auth-outside-devtest", "defender-outside-devtest", "tls-outside-devtest"]);
    });
  });
});
