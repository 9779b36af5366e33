/**
 * The cluster's network dataplane and policy engine (issue 26, item 7): Azure CNI clusters run
 * Azure CNI Overlay powered by Cilium (Azure Network Policy Manager on Linux retires, Microsoft
 * recommends Cilium); kubenet stays available with Calico and a warning naming its retirement
 * (31 March 2028) and the way to Azure CNI Overlay.
 */
import * as assert from "node:assert/strict";
import { Plan, input, stackConfig } from "../support/stacks";

const CLUSTER = "azure-native:containerservice:ManagedCluster";

/** The warnings an offline run prints (pulumi.log.warn without an engine goes to console.warn). */
async function planWithWarnings(stack: string): Promise<{ plan: Plan; warnings: string[] }> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  try {
    return { plan: await Plan.of(stackConfig(stack), true), warnings };
  } finally {
    console.warn = warn;
  }
}

describe("network dataplane and policy engine", function () {
  this.timeout(120_000);

  it("Azure CNI (prod): Overlay with the Cilium dataplane enforcing network policies, and no kubenet warning", async () => {
    const { plan, warnings } = await planWithWarnings("prod");
    const cluster = plan.one(CLUSTER);
    assert.equal(input(cluster, "networkProfile", "networkPlugin"), "azure");
    assert.equal(input(cluster, "networkProfile", "networkPluginMode"), "overlay");
    assert.equal(input(cluster, "networkProfile", "networkDataplane"), "cilium");
    assert.equal(input(cluster, "networkProfile", "networkPolicy"), "cilium");
    assert.equal(input(cluster, "networkProfile", "serviceCidr"), "10.100.0.0/16");
    assert.equal(input(cluster, "networkProfile", "dnsServiceIP"), "10.100.0.10");
    assert.deepEqual(warnings.filter((w) => /kubenet/i.test(w)), []);
  });

  it("kubenet (dev): unchanged, Calico and no dataplane sent, with one warning naming the retirement date and the migration path", async () => {
    const { plan, warnings } = await planWithWarnings("dev");
    const cluster = plan.one(CLUSTER);
    assert.equal(input(cluster, "networkProfile", "networkPlugin"), "kubenet");
    assert.equal(input(cluster, "networkProfile", "networkPluginMode"), undefined);
    assert.equal(input(cluster, "networkProfile", "networkDataplane"), undefined);
    assert.equal(input(cluster, "networkProfile", "networkPolicy"), "calico");
    const kubenet = warnings.filter((w) => /kubenet/i.test(w));
    assert.equal(kubenet.length, 1, kubenet.join("\n"));
    const [w] = kubenet;
    assert.match(w, /AKS cluster 'aksinf-dev'/);
    assert.match(w, /retires kubenet networking for AKS on 31 March 2028/);
    assert.match(w, /Azure CNI Overlay/);
    assert.match(w, /network\.plugin 'azure'/);
    assert.match(w, /docs\/deploying\.md, "Moving from kubenet to Azure CNI Overlay"/);
  });
});
