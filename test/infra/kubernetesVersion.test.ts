/**
 * The Kubernetes version is one Azure offers for new clusters in the region: `pulumi preview`
 * reads the region's list (a read-only Azure Resource Manager lookup, a provider function the
 * mocks answer here) and a refused version fails it with what is offered, before anything exists.
 */
import * as assert from "node:assert/strict";
import { OFFLINE_KUBERNETES_VERSIONS, runOffline } from "../../scripts/offline";
import { Plan, input, stackConfig } from "../support/stacks";

const CLUSTER = "azure-native:containerservice:ManagedCluster";
const POOL = "azure-native:containerservice:AgentPool";

describe("Kubernetes version", function () {
  this.timeout(120_000);

  it("is looked up in the stack's region with the deployer's token, during preview as during up", async () => {
    for (const preview of [true, false]) {
      const lookups: Record<string, unknown>[] = [];
      await runOffline(stackConfig("prod"), { preview, onInvoke: (token, args) => token === "command:local:run" && lookups.push(args) });
      const paths = lookups.map((a) => (a.environment as Record<string, string>).ARM_PATH).filter(Boolean);
      assert.deepEqual(paths, ["/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions?api-version=2024-02-01"], `preview: ${preview}`);
    }
  });

  it("is left to the region's default by the shipped stacks, for the cluster and its GPU pools", async () => {
    const prod = await Plan.of(stackConfig("prod"), false);
    assert.equal(input(prod.one(CLUSTER), "kubernetesVersion"), undefined);
    for (const pool of prod.all(POOL)) assert.equal(input(pool, "orchestratorVersion"), undefined, pool.name);
  });

  it("is given to the cluster and its GPU pools when Azure offers it", async () => {
    const plan = await Plan.of(stackConfig("prod", { "aks-inference:kubernetesVersion": "1.35" }), false);
    assert.equal(input(plan.one(CLUSTER), "kubernetesVersion"), "1.35");
    for (const pool of plan.all(POOL)) assert.equal(input(pool, "orchestratorVersion"), "1.35", pool.name);
  });

  it("fails the preview with what the region offers when Azure does not offer it for new clusters", async () => {
    for (const [version, why] of [
      ["1.33", "is not offered there"],
      ["1.34", "is past community support there"],
    ]) {
      await assert.rejects(runOffline(stackConfig("prod", { "aks-inference:kubernetesVersion": version }), { preview: true }), (err: Error) => {
        const message = String((err as { cause?: unknown }).cause ?? err);
        assert.ok(message.includes(`kubernetesVersion '${version}' in westeurope: ${why}`), message);
        assert.ok(message.includes("new clusters can be created on 1.35, 1.36 (default), 1.37. Set kubernetesVersion to one of them, or remove it"), message);
        return true;
      });
    }
    // The region's own answer decides: another list, another verdict.
    const plan = await runOffline(stackConfig("prod", { "aks-inference:kubernetesVersion": "1.34" }), {
      preview: false,
      kubernetesVersions: { values: [...(OFFLINE_KUBERNETES_VERSIONS.values ?? []).filter((v) => v.version !== "1.34"), { version: "1.34", capabilities: { supportPlan: ["KubernetesOfficial"] } }] },
    });
    assert.equal(input(plan.find((r) => r.type === CLUSTER)!, "kubernetesVersion"), "1.34");
  });
});
