/** What a cluster purpose decides: DevTest small and cheap, FastProd and DenseProd production-sized. */
import * as assert from "node:assert/strict";
import { purposeProfile } from "../../core/config/purpose";

describe("cluster purpose profile", () => {
  it("DevTest: one small system node, one router pod without self-scaling, no zones, free tier, no Defender, LRS, Standard ACR, one firewall IP, no managed Prometheus or Container Insights", () => {
    assert.deepEqual(purposeProfile("DevTest"), {
      systemVmSize: "Standard_D2s_v5",
      systemCount: 1,
      routerReplicas: 1,
      selfScaling: false,
      defender: false,
      firewallPublicIps: 1,
      registrySku: "Standard",
      storageSku: "Standard_LRS",
      zones: [],
      aksTier: "Free",
      routerResources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "250m", memory: "512Mi" } },
      upgradeChannel: "patch",
      nodeOsUpgradeChannel: "NodeImage",
      disableLocalAccounts: false,
      prometheus: false,
      containerInsights: false,
    });
  });

  for (const purpose of ["FastProd", "DenseProd"] as const) {
    it(`${purpose}: three system nodes and router pods over three zones, self-scaling, Defender, ZRS, Premium ACR, 20 firewall IPs, Standard tier, managed Prometheus and Container Insights`, () => {
      assert.deepEqual(purposeProfile(purpose), {
        systemVmSize: "Standard_D4s_v5",
        systemCount: 3,
        routerReplicas: 3,
        selfScaling: true,
        defender: true,
        firewallPublicIps: 20,
        registrySku: "Premium",
        storageSku: "Standard_ZRS",
        zones: ["1", "2", "3"],
        aksTier: "Standard",
        routerResources: { requests: { cpu: "1", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
        upgradeChannel: "patch",
        nodeOsUpgradeChannel: "NodeImage",
        disableLocalAccounts: true,
        prometheus: true,
        containerInsights: true,
      });
    });
  }
});
