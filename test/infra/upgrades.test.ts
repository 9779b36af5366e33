/**
 * Issue #26 item 11, "Upgrades", as planned: the cluster's auto-upgrade and node OS upgrade
 * channels, and the two planned maintenance configurations AKS reads by name
 * (`aksManagedAutoUpgradeSchedule`, `aksManagedNodeOSUpgradeSchedule`), children of the Cluster
 * component, on the cluster the stack creates.
 */
import * as assert from "node:assert/strict";
import { Plan, input, stackConfig } from "../support/stacks";

const CLUSTER = "azure-native:containerservice:ManagedCluster";
const MAINTENANCE = "azure-native:containerservice:MaintenanceConfiguration";

describe("AKS upgrades", function () {
  this.timeout(120_000);

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: the cluster takes patch releases and weekly node images inside a weekly window`, async () => {
      const plan = await Plan.of(stackConfig(stack));
      const cluster = plan.one(CLUSTER);
      assert.deepEqual(input(cluster, "autoUpgradeProfile"), { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" });

      // The cluster's own parent is the Cluster component.
      const component = plan.resources.find((r) => r.urn === cluster.parentUrn)!;
      assert.match(component.type, /:Cluster$/);
      const configs = plan.all(MAINTENANCE);
      assert.deepEqual(configs.map((r) => r.name).sort(), ["aks-auto-upgrade-schedule", "aks-node-os-upgrade-schedule"]);
      assert.deepEqual(configs.map((r) => input(r, "configName")).sort(), ["aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"]);
      for (const r of configs) {
        assert.equal(r.parentUrn, component.urn, `${r.name} is a child of the Cluster component`);
        assert.equal(input(r, "resourceName"), input(cluster, "resourceName"), `${r.name} is on the stack's cluster`);
        assert.equal(input(r, "resourceGroupName"), input(cluster, "resourceGroupName"));
        assert.ok(plan.dependsOn(r, cluster), `${r.name} waits for the cluster`);
        assert.deepEqual(input(r, "maintenanceWindow"), {
          schedule: { weekly: { dayOfWeek: "Sunday", intervalWeeks: 1 } },
          startTime: "00:00",
          durationHours: 4,
          utcOffset: "+00:00",
        });
      }
    });
  }

  it("follows the config: its window, and no schedule for a channel that is off", async () => {
    const plan = await Plan.of(
      stackConfig("dev", {
        "aks-inference:upgrades": { channel: "none", nodeOsChannel: "SecurityPatch", maintenanceWindow: { dayOfWeek: "Saturday", startTime: "22:30", durationHours: 6, utcOffset: "+01:00" } },
      }),
    );
    assert.deepEqual(input(plan.one(CLUSTER), "autoUpgradeProfile"), { upgradeChannel: "none", nodeOSUpgradeChannel: "SecurityPatch" });
    const only = plan.one(MAINTENANCE);
    assert.equal(input(only, "configName"), "aksManagedNodeOSUpgradeSchedule");
    assert.deepEqual(input(only, "maintenanceWindow"), { schedule: { weekly: { dayOfWeek: "Saturday", intervalWeeks: 1 } }, startTime: "22:30", durationHours: 6, utcOffset: "+01:00" });

    const none = await Plan.of(stackConfig("dev", { "aks-inference:upgrades": { channel: "none", nodeOsChannel: "None" } }));
    assert.deepEqual(none.all(MAINTENANCE), []);
  });
});
