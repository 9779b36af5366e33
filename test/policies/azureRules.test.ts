/**
 * Azure's own rules in the policy pack, over the evaluated stacks: the shipped configs (and the
 * other supported firewall shapes) pass, and a variant that breaks each rule — usually the way
 * this stack used to be built — is refused with a message naming the resource, the rule and the
 * Microsoft document.
 */
import * as assert from "node:assert/strict";
import { AZURE_RULES, type AzureRule } from "../../core/azure/rules";
import { RESOURCE_TYPES as T } from "../../policies/readers";
import { evaluate, rules, type Res } from "../../policies/rules";
import type { PlannedResource } from "../../scripts/offline";
import { Plan, asRes, rawStack, stackConfig } from "../support/stacks";


const AZURE_RULE_IDS = new Set<string>(Object.values(AZURE_RULES).map((r) => r.id));
/** Violations of Azure's rules (the rest of the pack is tested in rules.test.ts). */
const azureViolations = (all: Res[]) => evaluate(all).filter((v) => AZURE_RULE_IDS.has(v.rule.name)).map((v) => `${v.rule.name}: ${v.violation.message}`);
const violations = (all: Res[], rule: AzureRule) => evaluate(all).filter((v) => v.rule.name === rule.id).map((v) => v.violation.message);
const one = (all: Res[], type: string, name?: string) => {
  const found = all.filter((r) => r.type === type && (name === undefined || r.name === name));
  assert.equal(found.length, 1, `${type} ${name ?? ""}`);
  return found[0];
};
/** The message names the resource, the rule and its Microsoft document. */
function assertRefused(messages: string[], rule: AzureRule, resource: string, detail: RegExp) {
  assert.equal(messages.length > 0, true, `rule ${rule.id} did not fire`);
  const m = messages.find((x) => x.includes(`'${resource}'`));
  assert.ok(m, `no message names '${resource}': ${messages.join("\n")}`);
  assert.match(m, detail);
  assert.ok(m.includes(`(rule ${rule.id}; Microsoft: "${rule.doc.title}" ${rule.doc.url})`), m);
}

const fwSubnet = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod/subnets/AzureFirewallSubnet";
const createdFirewallProd = () =>
  stackConfig("prod", { "aks-inference:network": { ...(rawStack("prod")["aks-inference:network"] as object), firewallSubnetId: fwSubnet }, "aks-inference:firewall": undefined });
const kubenetFirewall = () => stackConfig("dev", { "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.200" } });

describe("Azure rules in the policy pack", function () {
  this.timeout(120_000);
  let prod: PlannedResource[];
  let created: PlannedResource[];
  let kubenet: PlannedResource[];
  before(async () => {
    prod = (await Plan.shared(stackConfig("prod"))).resources;
    created = (await Plan.shared(createdFirewallProd())).resources;
    kubenet = (await Plan.shared(kubenetFirewall())).resources;
  });

  it("every Azure rule is in the pack, mandatory unless it is advice, with its Microsoft document in the description", () => {
    for (const rule of Object.values(AZURE_RULES)) {
      if ("previewOnly" in rule) {
        assert.equal(rules.find((r) => r.name === rule.id), undefined, `${rule.id}: only Azure knows its facts (the preview's lookups check it)`);
        continue;
      }
      const policy = rules.find((r) => r.name === rule.id);
      assert.ok(policy, rule.id);
      assert.equal(policy.enforcementLevel, rule.kind === "advice" ? "advisory" : "mandatory", rule.id);
      assert.ok(policy.description.includes(rule.doc.title), rule.id);
    }
  });

  it("passes the shipped stacks and the other supported firewall shapes, in preview and after up", async () => {
    for (const [name, resources] of [["prod (hub firewall)", prod], ["CNI with a created firewall", created], ["kubenet with a firewall", kubenet]] as const) {
      assert.deepEqual(azureViolations(asRes(resources)), [], name);
    }
    for (const cfg of [stackConfig("dev"), stackConfig("prod"), createdFirewallProd()]) {
      const preview = await Plan.shared(cfg, true);
      assert.deepEqual(azureViolations(asRes(preview.resources)), [], `${cfg.stack} in preview`);
    }
  });

  it("refuses a firewall outside its subnet's VNet resource group (AzureFirewallReferencesSubnetInDifferentResourceGroup)", () => {
    const all = asRes(created);
    one(all, T.firewall).props.resourceGroupName = "rg-aksinf-prod"; // where this stack used to put it
    assertRefused(violations(all, AZURE_RULES.firewallGroup), AZURE_RULES.firewallGroup, "egress", /is in resource group 'rg-aksinf-prod' but its subnet's VNet 'vnet-prod' is in 'rg-network-prod'/);
  });

  it("refuses user-defined routing without the subnet's route table or the default route", () => {
    const noTable = asRes(kubenet);
    delete one(noTable, T.subnet, "network-nodes").props.routeTable;
    assertRefused(violations(noTable, AZURE_RULES.udrRoute), AZURE_RULES.udrRoute, "network-nodes", /has no route table while the cluster uses outboundType userDefinedRouting/);
    const noRoute = asRes(kubenet).filter((r) => !(r.type === T.route && r.props.addressPrefix === "0.0.0.0/0"));
    assertRefused(violations(noRoute, AZURE_RULES.udrRoute), AZURE_RULES.udrRoute, "aks", /no route sends 0\.0\.0\.0\/0 to a VirtualAppliance/);
  });

  it("refuses a public load balancer behind the firewall, and an internal one without its DNAT rule", () => {
    const publicLb = asRes(prod);
    (one(publicLb, T.service, "router-service").props.metadata as { annotations: Record<string, string> }).annotations = { "service.beta.kubernetes.io/azure-pip-name": "endpoint" };
    assertRefused(violations(publicLb, AZURE_RULES.internalLb), AZURE_RULES.internalLb, "router-service", /is a public LoadBalancer while 0\.0\.0\.0\/0 goes to the firewall.*asymmetric routing/);
    const noDnat = asRes(prod);
    const group = one(noDnat, T.ruleGroup);
    group.props.ruleCollections = (group.props.ruleCollections as { ruleCollectionType: string }[]).filter((c) => c.ruleCollectionType !== "FirewallPolicyNatRuleCollection");
    assertRefused(violations(noDnat, AZURE_RULES.internalLb), AZURE_RULES.internalLb, "router-service", /no firewall DNAT rule forwards port 443 to its internal IP 10\.240\.0\.200/);
  });

  it("refuses the TCP 443 → AzureCloud.<region> network rule that bypassed the FQDN allow-list", () => {
    const all = asRes(prod);
    // The stack writes no network rule collection (AKS needs none): add one as a hand edit would.
    (one(all, T.ruleGroup).props.ruleCollections as Record<string, unknown>[]).push({
      ruleCollectionType: "FirewallPolicyFilterRuleCollection",
      name: "aks-network",
      priority: 200,
      action: { type: "Allow" },
      rules: [{ ruleType: "NetworkRule", name: "aks-apiserver", ipProtocols: ["TCP"], sourceAddresses: ["*"], destinationAddresses: ["AzureCloud.westeurope"], destinationPorts: ["443"] }],
    });
    assertRefused(violations(all, AZURE_RULES.noBroadNetworkRules), AZURE_RULES.noBroadNetworkRules, "egress-rules", /network rule 'aks-apiserver' allows TCP 443 to AzureCloud\.westeurope/);
  });

  it("refuses router pods that would reach the API server by IP behind the firewall", () => {
    const all = asRes(prod);
    delete (one(all, T.deployment, "router-deployment").props.spec as { template: { metadata: { annotations?: unknown } } }).template.metadata.annotations;
    assertRefused(violations(all, AZURE_RULES.apiServerFqdn), AZURE_RULES.apiServerFqdn, "router-deployment", /lack kubernetes\.azure\.com\/set-kube-service-host-fqdn/);
  });

  it("refuses Network Contributor on a resource group, and role assignments without their deterministic name", () => {
    const all = asRes(prod);
    one(all, T.roleAssignment, "aks-network-subnet").props.scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aksinf-prod";
    assertRefused(violations(all, AZURE_RULES.leastPrivilege), AZURE_RULES.leastPrivilege, "aks-network-subnet", /grants Network Contributor on '[^']+rg-aksinf-prod', a whole resource group/);
    const unnamed = asRes(prod);
    delete one(unnamed, T.roleAssignment, "acr-acrpull").props.roleAssignmentName;
    assertRefused(violations(unnamed, AZURE_RULES.deterministicRoleName), AZURE_RULES.deterministicRoleName, "acr-acrpull", /has no roleAssignmentName.*RoleAssignmentExists/);
    const renamed = asRes(prod);
    one(renamed, T.roleAssignment, "aks-network-route-table").props.roleAssignmentName = "00000000-0000-0000-0000-000000000001";
    assertRefused(violations(renamed, AZURE_RULES.deterministicRoleName), AZURE_RULES.deterministicRoleName, "aks-network-route-table", /is not the UUID v5 of its scope, role and principal/);
  });

  it("refuses a pod CIDR with classic Azure CNI (what the SDK default sent)", () => {
    const all = asRes(prod);
    delete (one(all, T.cluster).props.networkProfile as Record<string, unknown>).networkPluginMode;
    assertRefused(violations(all, AZURE_RULES.podCidr), AZURE_RULES.podCidr, "aks", /sends podCidr '10\.244\.0\.0\/16' with Azure CNI/);
  });

  it("refuses a DNS proxy the VNet does not use", () => {
    const all = asRes(kubenet);
    delete one(all, T.vnet).props.dhcpOptions;
    assertRefused(violations(all, AZURE_RULES.dnsProxy), AZURE_RULES.dnsProxy, "network-vnet", /uses DNS servers Azure-provided, not the firewall's DNS proxy 10\.225\.0\.4/);
  });

  it("advises zones and several public IPs for a production firewall", () => {
    const all = asRes(created);
    const firewall = one(all, T.firewall);
    delete firewall.props.zones;
    firewall.props.ipConfigurations = (firewall.props.ipConfigurations as unknown[]).slice(0, 1);
    const messages = violations(all, AZURE_RULES.firewallZones);
    assertRefused(messages, AZURE_RULES.firewallZones, "egress", /is not in zone\(s\) 1, 2, 3 where cluster nodes run/);
    assert.ok(messages.some((m) => /has 1 public IP: production egress exhausts SNAT ports/.test(m)), messages.join("\n"));
  });
});
