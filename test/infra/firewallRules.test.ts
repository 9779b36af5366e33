/**
 * Every rule the stack writes into a firewall policy, pinned whole for each way the stacks can
 * render a firewall: the hub's policy (prod), a firewall the stack creates for Azure CNI, one for
 * kubenet, and the optional azureml-fe hosts. Sources, destinations (FQDNs, addresses, service
 * tags), ports, protocols, actions and priorities are compared exactly, rule by rule, so opening
 * any rule to "*" or dropping or adding a destination fails here. Only descriptions (prose for
 * the firewall's operators) are left out.
 *
 * No firewall has a network rule collection: AKS needs no network rule behind a firewall any more
 * (Microsoft, "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters", Azure
 * Global required network rules: UDP 1194 / TCP 9000 not for clusters with konnectivity-agent, UDP
 * 123 not for nodes provisioned after March 2021), so the hub's policy gets no IP-based allow rule.
 */
import * as assert from "node:assert/strict";
import { Plan, input, rawStack, stackConfig } from "../support/stacks";

const RULE_GROUP = "azure-native:network:FirewallPolicyRuleCollectionGroup";
const FW_SUBNET = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod/subnets/AzureFirewallSubnet";

/** A firewall the stack creates gets its public IP at deployment: any address the offline run assigns. */
const CREATED_PUBLIC_IP = /^20\.50\.0\.\d+$/;
/** A tenant-scoped cloudapp label: Azure appends a hash the stack cannot know in advance. */
const DEV_ENDPOINT_FQDN = /^aksinf-dev-[0-9a-f]{16}\.westeurope\.cloudapp\.azure\.com$/;

/** Expected values: exact, except a RegExp where the value is only known once Azure assigns it. */
type Expected = string | number | boolean | RegExp | Expected[] | { [key: string]: Expected };

/**
 * Deep equality where every object must have exactly the expected keys (an added field such as
 * `sourceIpGroups` would widen a rule) and every array exactly the expected items, in order.
 */
function assertExactly(actual: unknown, expected: Expected, at: string): void {
  if (expected instanceof RegExp) {
    assert.equal(typeof actual, "string", `${at}: expected a string matching ${expected}, got ${JSON.stringify(actual)}`);
    assert.match(actual as string, expected, at);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${at}: expected an array, got ${JSON.stringify(actual)}`);
    assert.deepEqual(actual.length, expected.length, `${at}: ${JSON.stringify(actual)} has ${actual.length} items, expected ${expected.length}: ${JSON.stringify(expected.map(String))}`);
    expected.forEach((e, i) => assertExactly(actual[i], e, `${at}[${i}]`));
  } else if (typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object" && !Array.isArray(actual), `${at}: expected an object, got ${JSON.stringify(actual)}`);
    const fields = Object.keys(actual as object).filter((k) => k !== "description");
    assert.deepEqual(fields.sort(), Object.keys(expected).sort(), `${at}: fields`);
    for (const k of fields) assertExactly((actual as Record<string, unknown>)[k], expected[k], `${at}.${k}`);
  } else assert.equal(actual, expected, `${at}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

const HTTPS = { protocolType: "Https", port: 443 };

function dnat(publicIp: string | RegExp, internalIp: string, port: number): Expected {
  return {
    ruleCollectionType: "FirewallPolicyNatRuleCollection",
    name: "router-ingress",
    priority: 100,
    action: { type: "DNAT" },
    rules: [
      {
        ruleType: "NatRule",
        name: `router-${port}`,
        ipProtocols: ["TCP"],
        // The scoring endpoint is public: clients come from anywhere, to this one address and port.
        sourceAddresses: ["*"],
        destinationAddresses: [publicIp],
        destinationPorts: [String(port)],
        translatedAddress: internalIp,
        translatedPort: String(port),
      },
    ],
  };
}

function inferenceApp(nodes: string, hostRules: [name: string, fqdns: (string | RegExp)[]][]): Expected {
  return {
    ruleCollectionType: "FirewallPolicyFilterRuleCollection",
    name: "inference-app",
    priority: 300,
    action: { type: "Allow" },
    rules: [
      { ruleType: "ApplicationRule", name: "aks-fqdn-tag", sourceAddresses: [nodes], protocols: [HTTPS, { protocolType: "Http", port: 80 }], fqdnTags: ["AzureKubernetesService"] },
      ...hostRules.map(([name, fqdns]) => ({ ruleType: "ApplicationRule", name, sourceAddresses: [nodes], protocols: [HTTPS], targetFqdns: fqdns })),
    ],
  };
}

/** prod: the API server, MCR, its TLS Key Vault, its own storage and ACR (Premium: data endpoint), tokens. */
const PROD_INFERENCE_HOSTS = [
  "*.hcp.westeurope.azmk8s.io",
  "mcr.microsoft.com",
  "*.data.mcr.microsoft.com",
  "kv-contoso-certs.vault.azure.net",
  "aksinfprodst.table.core.windows.net",
  "login.microsoftonline.com",
  "aksinfprodacr.azurecr.io",
  "aksinfprodacr.westeurope.data.azurecr.io",
  "aksinfprodst.blob.core.windows.net",
  // The regressor service sends to Application Insights (appInsightsEnabled).
  "westeurope.in.applicationinsights.azure.com",
  "westeurope.livediagnostics.monitor.azure.com",
];
const PROD_HOST_RULES: [string, string[]][] = [
  ["inference-hosts", PROD_INFERENCE_HOSTS],
  ["gpu-hosts", ["nvidia.github.io", "us.download.nvidia.com", "download.docker.com"]],
  [
    "addon-hosts",
    [
      "*.ods.opinsights.azure.com",
      "*.oms.opinsights.azure.com",
      "*.cloud.defender.microsoft.com",
      // Managed Prometheus and Container Insights (on by default for FastProd and DenseProd).
      "dc.services.visualstudio.com",
      "*.monitoring.azure.com",
      "global.handler.control.monitor.azure.com",
      "westeurope.handler.control.monitor.azure.com",
      "westeurope.ingest.monitor.azure.com",
    ],
  ],
];
const PROD_NODES = "10.240.0.0/24";

/** dev behind a firewall: a Basic ACR has no dedicated data endpoint (its layers come from blob storage), and the endpoint's own name. */
const DEV_INFERENCE_HOSTS = [
  "*.hcp.westeurope.azmk8s.io",
  "mcr.microsoft.com",
  "*.data.mcr.microsoft.com",
  "aksinfdevst.table.core.windows.net",
  DEV_ENDPOINT_FQDN,
  "aksinfdevacr.azurecr.io",
  "*.blob.core.windows.net",
  "aksinfdevst.blob.core.windows.net",
];
const DEV_NODES = "10.224.0.0/16";

function ruleCollections(plan: Plan): { group: ReturnType<Plan["one"]>; collections: unknown } {
  const group = plan.one(RULE_GROUP);
  return { group, collections: input(group, "ruleCollections") };
}

describe("firewall rules: every collection of every firewall the stacks render, pinned exactly", function () {
  this.timeout(120_000);

  it("dev as shipped (load-balancer egress) writes no firewall rules", async () => {
    assert.equal((await Plan.of(stackConfig("dev"))).all(RULE_GROUP).length, 0);
  });

  it("prod: the hub policy's rule collection group", async () => {
    const { group, collections } = ruleCollections(await Plan.of(stackConfig("prod")));
    assert.equal(input(group, "priority"), 400);
    assertExactly(collections, [dnat("203.0.113.10", "10.240.0.200", 443), inferenceApp(PROD_NODES, PROD_HOST_RULES)], "hub");
  });

  it("Azure CNI with a firewall the stack creates", async () => {
    const network = { ...(rawStack("prod")["aks-inference:network"] as object), firewallSubnetId: FW_SUBNET };
    const { group, collections } = ruleCollections(await Plan.of(stackConfig("prod", { "aks-inference:network": network, "aks-inference:firewall": { publicIpCount: 3 } })));
    assert.equal(input(group, "ruleCollectionGroupName"), "aks-inference-aksinf-prod");
    assertExactly(collections, [dnat(CREATED_PUBLIC_IP, "10.240.0.200", 443), inferenceApp(PROD_NODES, PROD_HOST_RULES)], "created CNI");
  });

  const kubenet = { "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.200" } };

  it("kubenet with a firewall the stack creates (dev behind a firewall)", async () => {
    const { group, collections } = ruleCollections(await Plan.of(stackConfig("dev", kubenet)));
    assert.equal(input(group, "ruleCollectionGroupName"), "aks-inference-aksinf-dev");
    assertExactly(collections, [dnat(CREATED_PUBLIC_IP, "10.224.0.200", 80), inferenceApp(DEV_NODES, [["inference-hosts", DEV_INFERENCE_HOSTS]])], "kubenet");
  });

  it("with requiredHosts.azureMlCompat: azureml-fe's own hosts in one more rule, from the nodes only", async () => {
    // prod has token-auth services, so azureml-fe's token service is among them.
    const { collections } = ruleCollections(await Plan.of(stackConfig("prod", { "aks-inference:requiredHosts": { azureMlCompat: true } })));
    const hostRules: [string, string[]][] = [...PROD_HOST_RULES, ["azureml-hosts", ["api.azureml.ms", "ingest-viennawesteurope.kusto.windows.net"]]];
    assertExactly(collections, [dnat("203.0.113.10", "10.240.0.200", 443), inferenceApp(PROD_NODES, hostRules)], "azureMlCompat");
  });
});
