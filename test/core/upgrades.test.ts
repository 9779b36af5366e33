/**
 * Issue #26 item 11, "Upgrades": the cluster's auto-upgrade channel and node OS upgrade channel
 * default by cluster purpose, with a weekly planned maintenance window; every value is checked
 * once and a wrong one is refused naming its key and what is allowed.
 */
import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig } from "../../core/config";
import { purposeProfile } from "../../core/config/purpose";

const parse = (extra: Record<string, unknown> = {}) => parseStackConfig({ "azure-native:location": "westeurope", ...extra }, "t");

function problems(extra: Record<string, unknown>): string[] {
  try {
    parse(extra);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("config: upgrades", () => {
  it("default by purpose: patch releases and the weekly node image, every purpose alike", () => {
    for (const purpose of ["DevTest", "FastProd", "DenseProd"] as const) {
      assert.equal(purposeProfile(purpose).upgradeChannel, "patch", purpose);
      assert.equal(purposeProfile(purpose).nodeOsUpgradeChannel, "NodeImage", purpose);
      const c = parse({ "aks-inference:clusterPurpose": purpose });
      assert.deepEqual(c.upgrades, {
        channel: "patch",
        nodeOsChannel: "NodeImage",
        maintenanceWindow: { dayOfWeek: "Sunday", startTime: "00:00", durationHours: 4, utcOffset: "+00:00" },
      });
    }
  });

  it("take the channels and window the stack sets", () => {
    const c = parse({
      "aks-inference:upgrades": { channel: "none", nodeOsChannel: "SecurityPatch", maintenanceWindow: { dayOfWeek: "Saturday", startTime: "22:30", durationHours: 6, utcOffset: "+01:00" } },
    });
    assert.deepEqual(c.upgrades, {
      channel: "none",
      nodeOsChannel: "SecurityPatch",
      maintenanceWindow: { dayOfWeek: "Saturday", startTime: "22:30", durationHours: 6, utcOffset: "+01:00" },
    });
    assert.equal(parse({ "aks-inference:upgrades": { maintenanceWindow: { dayOfWeek: "Wednesday" } } }).upgrades.maintenanceWindow.startTime, "00:00", "window fields default one by one");
  });

  it("refuse a wrong value naming the key and what is allowed", () => {
    assert.deepEqual(problems({ "aks-inference:upgrades": { channel: "weekly" } }), ["aks-inference:upgrades.channel: must be one of 'none', 'patch', 'stable', 'rapid'"]);
    assert.deepEqual(problems({ "aks-inference:upgrades": { nodeOsChannel: "nodeimage" } }), ["aks-inference:upgrades.nodeOsChannel: must be one of 'None', 'Unmanaged', 'NodeImage', 'SecurityPatch'"]);
    assert.deepEqual(problems({ "aks-inference:upgrades": { maintenanceWindow: { dayOfWeek: "Sun" } } }), [
      "aks-inference:upgrades.maintenanceWindow.dayOfWeek: must be one of 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'",
    ]);
    assert.match(problems({ "aks-inference:upgrades": { maintenanceWindow: { durationHours: 2 } } }).join("\n"), /^aks-inference:upgrades\.maintenanceWindow\.durationHours: .*4/);
    assert.match(problems({ "aks-inference:upgrades": { maintenanceWindow: { durationHours: 25 } } }).join("\n"), /^aks-inference:upgrades\.maintenanceWindow\.durationHours: .*24/);
    assert.match(problems({ "aks-inference:upgrades": { maintenanceWindow: { startTime: "24:00" } } }).join("\n"), /^aks-inference:upgrades\.maintenanceWindow\.startTime: must be a time from '00:00' to '23:59'/);
    assert.match(problems({ "aks-inference:upgrades": { maintenanceWindow: { utcOffset: "1:00" } } }).join("\n"), /^aks-inference:upgrades\.maintenanceWindow\.utcOffset: must be an offset such as '\+01:00'/);
    assert.deepEqual(problems({ "aks-inference:upgrades": { chanel: "patch" } }), ["aks-inference:upgrades.chanel: unknown key (check its spelling against the config reference)"]);
  });

  it("refuse 'node-image' as the cluster channel: node images have their own channel", () => {
    assert.deepEqual(problems({ "aks-inference:upgrades": { channel: "node-image" } }), ["aks-inference:upgrades.channel: must be one of 'none', 'patch', 'stable', 'rapid'"]);
  });

  it("refuse a channel that would move the version kubernetesVersion pins", () => {
    assert.deepEqual(problems({ "aks-inference:kubernetesVersion": "1.33" }), [], "patch releases within the pinned minor version");
    assert.deepEqual(problems({ "aks-inference:kubernetesVersion": "1.33.2", "aks-inference:upgrades": { channel: "none" } }), []);
    assert.deepEqual(problems({ "aks-inference:kubernetesVersion": "1.33.2" }), [
      "aks-inference:kubernetesVersion: '1.33.2' pins a patch version, which upgrades.channel 'patch' moves on its own: set the minor version ('1.33'), or upgrades.channel 'none'",
    ]);
    assert.deepEqual(problems({ "aks-inference:kubernetesVersion": "1.33", "aks-inference:upgrades": { channel: "stable" } }), [
      "aks-inference:upgrades.channel: 'stable' moves the minor version on its own, away from kubernetesVersion '1.33': use 'patch' (minor versions then move with kubernetesVersion), or remove kubernetesVersion",
    ]);
    assert.deepEqual(problems({ "aks-inference:upgrades": { channel: "rapid" } }), [], "no pinned version: the channel moves it");
  });
});
