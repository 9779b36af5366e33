import * as assert from "node:assert/strict";
import { ConfigError, decodeConfigValue, endpointDnsLabel, parseStackConfig, scoringUri } from "../../core/config";
import { rawStack, stackConfig } from "../support/stacks";

/** The problems a config raises, or fails the test if it is accepted. */
function problems(overrides: Record<string, unknown>, base = "dev"): string[] {
  try {
    parseStackConfig({ ...rawStack(base), ...overrides }, base);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("config was accepted");
}

const svc = (extra: Record<string, unknown>) => ({ name: "svc-a", models: ["m.onnx"], ...extra });

describe("stack config", () => {
  it("reads the shipped dev stack with DevTest defaults", () => {
    const c = stackConfig("dev");
    assert.equal(c.clusterPurpose, "DevTest");
    assert.equal(c.network.plugin, "kubenet");
    assert.equal(c.egress, "loadBalancer");
    assert.equal(c.systemPool.count, 1);
    assert.equal(c.router.replicas, 1);
    assert.equal(c.router.selfScaling, false, "Azure ML v1: self-scaling is off on dev-test clusters");
    assert.equal(c.defender, false);
    const regressor = c.services.find((s) => s.name === "regressor");
    assert.equal(regressor?.authMode, "key", "key auth is the default");
    assert.equal(regressor?.autoscaleEnabled, true);
    assert.equal(c.services.find((s) => s.name === "echo")?.autoscaleEnabled, false, "numReplicas turns autoscaling off");
  });

  it("reads the shipped prod stack with FastProd defaults", () => {
    const c = stackConfig("prod");
    assert.equal(c.network.plugin, "azure");
    assert.equal(c.egress, "firewall");
    assert.equal(c.router.replicas, 3);
    assert.equal(c.router.selfScaling, true);
    assert.equal(c.defender, true);
    assert.equal(c.services.find((s) => s.name === "regressor-gpu")?.authMode, "token");
    assert.equal(c.services.find((s) => s.name === "regressor-gpu")?.gpuPool, "gput4");
    assert.equal(scoringUri(c, "regressor"), "https://ml.contoso.com/api/v1/service/regressor/score");
  });

  it("names the key and the allowed values for an unknown cluster purpose", () => {
    assert.deepEqual(problems({ "aks-inference:clusterPurpose": "Production" }), [
      "aks-inference:clusterPurpose: must be one of 'DevTest', 'FastProd', 'DenseProd'",
    ]);
  });

  it("requires a subnet ID for Azure CNI", () => {
    const p = problems({ "aks-inference:network": { plugin: "azure" } });
    assert.ok(p.some((x) => x.startsWith("aks-inference:network.subnetId: is required")), p.join("\n"));
  });

  it("rejects a subnet ID with kubenet, which creates its own", () => {
    const p = problems({ "aks-inference:network": { plugin: "kubenet", subnetId: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/x" } });
    assert.ok(p.some((x) => x.startsWith("aks-inference:network.subnetId: is only allowed")), p.join("\n"));
  });

  it("takes dns.resolverVnetId only as a virtual network resource ID (issue 26)", () => {
    const hub = "/subscriptions/s/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub";
    assert.equal(stackConfig("dev", { "aks-inference:dns": { privateZones: ["internal.contoso.com"], resolverVnetId: hub } }).dns.resolverVnetId, hub);
    const bad = problems({ "aks-inference:dns": { privateZones: ["internal.contoso.com"], resolverVnetId: `${hub}/subnets/x` } });
    assert.ok(bad[0]?.startsWith("aks-inference:dns.resolverVnetId: must be a virtual network resource ID"), bad.join("\n"));
  });

  describe("egress firewall: the hub's, or one the stack creates in the VNet's resource group", () => {
    const prodNetwork = () => rawStack("prod")["aks-inference:network"] as Record<string, unknown>;
    const prodFirewall = () => rawStack("prod")["aks-inference:firewall"] as Record<string, unknown>;
    const fwSubnet = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod/subnets/AzureFirewallSubnet";

    it("reads the shipped prod stack as a hub firewall", () => {
      const c = stackConfig("prod");
      assert.deepEqual(c.firewall, {
        kind: "hub",
        policyId: "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub-prod/providers/Microsoft.Network/firewallPolicies/fwp-hub-prod",
        privateIp: "10.0.1.4",
        publicIp: "203.0.113.10",
        priority: 400,
      });
      assert.equal(c.endpoint.internalIp, "10.240.0.200");
      assert.equal(stackConfig("dev").firewall, undefined, "load-balancer egress has no firewall");
    });

    it("needs either the hub's policy or an AzureFirewallSubnet, naming both keys", () => {
      const p = problems({ "aks-inference:network": { ...prodNetwork(), firewallSubnetId: undefined }, "aks-inference:firewall": undefined }, "prod");
      assert.ok(p.includes("aks-inference:firewall.policyId: or network.firewallSubnetId is required when network.plugin is 'azure' and egress is 'firewall': the hub's firewall policy, or the AzureFirewallSubnet for a firewall this stack creates"), p.join("\n"));
    });

    it("refuses both at once", () => {
      const p = problems({ "aks-inference:network": { ...prodNetwork(), firewallSubnetId: fwSubnet } }, "prod");
      assert.deepEqual(p, ["aks-inference:network.firewallSubnetId: cannot be set with firewall.policyId: use the hub's firewall, or create one, not both"]);
    });

    it("needs the hub firewall's private and public IPs", () => {
      const p = problems({ "aks-inference:firewall": { policyId: prodFirewall().policyId } }, "prod");
      assert.ok(p.some((x) => x.startsWith("aks-inference:firewall.privateIp: is required with firewall.policyId")), p.join("\n"));
      assert.ok(p.some((x) => x.startsWith("aks-inference:firewall.publicIp: is required with firewall.policyId")), p.join("\n"));
    });

    it("creates the firewall with 20 public IPs outside DevTest, 1 for DevTest, or as configured", () => {
      const created = { "aks-inference:network": { ...prodNetwork(), firewallSubnetId: fwSubnet }, "aks-inference:firewall": undefined };
      assert.deepEqual(stackConfig("prod", created).firewall, { kind: "created", publicIpCount: 20, priority: 400 });
      assert.deepEqual(stackConfig("prod", { ...created, "aks-inference:firewall": { publicIpCount: 4 } }).firewall, { kind: "created", publicIpCount: 4, priority: 400 });
      const kubenet = stackConfig("dev", { "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.200" } });
      assert.deepEqual(kubenet.firewall, { kind: "created", publicIpCount: 1, priority: 400 });
    });

    it("requires the existing route table for CNI behind a firewall", () => {
      const p = problems({ "aks-inference:network": { ...prodNetwork(), routeTableId: undefined } }, "prod");
      assert.ok(p.some((x) => x.startsWith("aks-inference:network.routeTableId: is required when network.plugin is 'azure' and egress is 'firewall'")), p.join("\n"));
      const bad = problems({ "aks-inference:network": { ...prodNetwork(), routeTableId: "rt-aks-prod" } }, "prod");
      assert.ok(bad[0].startsWith("aks-inference:network.routeTableId: must be a route table resource ID"), bad.join("\n"));
    });

    it("requires the router's internal IP inside the node subnet", () => {
      const p = problems({ "aks-inference:endpoint": { customDomain: "ml.contoso.com", tls: { secretName: "tls" } } }, "prod");
      assert.ok(p.some((x) => x.startsWith("aks-inference:endpoint.internalIp: is required with egress 'firewall'")), p.join("\n"));
      const outside = problems({ "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.1.0.5" } });
      assert.deepEqual(outside, ["aks-inference:endpoint.internalIp: must be a usable address of network.nodeSubnetPrefix 10.224.0.0/16 (Azure reserves the first four and the last)"]);
      const reserved = problems({ "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.3" } });
      assert.equal(reserved.length, 1);
    });

    it("refuses a hub firewall for kubenet and without a custom domain", () => {
      const p = problems({ "aks-inference:egress": "firewall", "aks-inference:firewall": prodFirewall(), "aks-inference:endpoint": { internalIp: "10.224.0.200" } });
      assert.ok(p.some((x) => x.startsWith("aks-inference:firewall.policyId: needs network.plugin 'azure'")), p.join("\n"));
      assert.ok(p.some((x) => x.startsWith("aks-inference:endpoint.customDomain: is required with a hub firewall")), p.join("\n"));
    });

    it("refuses firewall settings without firewall egress", () => {
      assert.deepEqual(problems({ "aks-inference:firewall": { publicIpCount: 2 } }), ["aks-inference:firewall: is only allowed with egress 'firewall'"]);
    });
  });

  it("scopes the default cloudapp label to the tenant, keeps an explicit one, and needs none with a custom domain", () => {
    assert.deepEqual(endpointDnsLabel(stackConfig("dev")), { label: "aksinf-dev", scope: "TenantReuse" });
    assert.deepEqual(endpointDnsLabel(stackConfig("dev", { "aks-inference:endpoint": { dnsLabel: "contoso-scoring" } })), { label: "contoso-scoring" });
    assert.equal(endpointDnsLabel(stackConfig("prod")), undefined);
  });

  it("keeps the pod CIDR outside the kubenet VNet", () => {
    assert.deepEqual(problems({ "aks-inference:network": { plugin: "kubenet", podCidr: "10.230.0.0/16" } }), ["aks-inference:network.podCidr: must not overlap network.vnetAddressSpace 10.224.0.0/12"]);
  });

  it("rejects a GPU pool with a non-GPU VM size", () => {
    const p = problems({ "aks-inference:gpuPools": [{ name: "gpu", vmSize: "Standard_D4s_v5" }] });
    assert.deepEqual(p, ["aks-inference:gpuPools[0].vmSize: must be a GPU (N-series) VM size such as 'Standard_NC4as_T4_v3'"]);
  });

  it("refuses more than 1,000 models in one deployment at preview time", () => {
    const models = Array.from({ length: 1001 }, (_, i) => `m${i}.onnx`);
    const p = problems({ "aks-inference:services": [svc({ models })] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].models: at most 1000 models")), p.join("\n"));
    assert.doesNotThrow(() => parseStackConfig({ ...rawStack("dev"), "aks-inference:services": [svc({ models: models.slice(0, 1000) })] }, "dev"));
  });

  it("caps the router payload limit at Azure ML v1's 100 MB", () => {
    const p = problems({ "aks-inference:router": { payloadLimitMb: 101 } });
    assert.deepEqual(p, ["aks-inference:router.payloadLimitMb: must be at most 100 (Azure ML v1's payload limit)"]);
  });

  it("refuses key and token auth on the same service", () => {
    const p = problems({ "aks-inference:services": [svc({ authEnabled: true, tokenAuthEnabled: true })] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].tokenAuthEnabled")), p.join("\n"));
  });

  it("turns auth off only when asked", () => {
    const c = stackConfig("dev", { "aks-inference:services": [svc({ authEnabled: false })] });
    assert.equal(c.services[0].authMode, "none");
  });

  it("needs a GPU pool for a service that asks for GPUs", () => {
    const p = problems({ "aks-inference:services": [svc({ gpuCores: 1 })] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].gpuCores: needs a GPU pool")), p.join("\n"));
  });

  it("rejects numReplicas together with autoscaling", () => {
    const p = problems({ "aks-inference:services": [svc({ autoscaleEnabled: true, numReplicas: 3 })] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].numReplicas")), p.join("\n"));
  });

  it("rejects an autoscale target over 100 %", () => {
    const p = problems({ "aks-inference:services": [svc({ autoscaleTargetUtilization: 120 })] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].autoscaleTargetUtilization")), p.join("\n"));
  });

  it("rejects autoscale bounds the wrong way round", () => {
    const p = problems({ "aks-inference:services": [svc({ autoscaleMinReplicas: 5, autoscaleMaxReplicas: 2 })] });
    assert.deepEqual(p, ["aks-inference:services[0].autoscaleMinReplicas: must be at most autoscaleMaxReplicas"]);
  });

  it("needs an entry script unless the service has an ONNX model", () => {
    const p = problems({ "aks-inference:services": [{ name: "svc-a", models: ["model.pkl"] }] });
    assert.ok(p.some((x) => x.startsWith("aks-inference:services[0].entryScript: is required")), p.join("\n"));
  });

  it("names misspelled keys instead of ignoring them", () => {
    assert.deepEqual(problems({ "aks-inference:clusterPurpse": "DevTest" }), ["aks-inference:clusterPurpse: unknown key (check its spelling against the config reference)"]);
    const p = problems({ "aks-inference:services": [svc({ cpuCore: 1 })] });
    assert.deepEqual(p, ["aks-inference:services[0].cpuCore: unknown key (check its spelling against the config reference)"]);
  });

  it("requires the region", () => {
    const raw = rawStack("dev");
    delete raw["azure-native:location"];
    assert.throws(() => parseStackConfig(raw, "dev"), /azure-native:location/);
  });

  it("decodes the strings Pulumi hands over without turning versions into numbers", () => {
    assert.equal(decodeConfigValue("1.33"), "1.33");
    assert.equal(decodeConfigValue("true"), true);
    assert.deepEqual(decodeConfigValue('{"plugin":"kubenet"}'), { plugin: "kubenet" });
    assert.deepEqual(decodeConfigValue("[1,2]"), [1, 2]);
  });
});
