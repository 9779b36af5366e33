/**
 * The infrastructure stack, evaluated offline from the shipped stack files and variations of
 * them, asserting on what it would create in Azure.
 */
import * as assert from "node:assert/strict";
import { GPU_POOL_LABEL, GPU_TAINT_STRING, TAGS } from "../../core/naming";
import { requiredHostsFor, uncoveredHosts } from "../../core/requiredHosts";
import { SECRET } from "../../scripts/offline";
import { renderTree } from "../../scripts/plan";
import { Plan, input, rawStack, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  vnet: "azure-native:network:VirtualNetwork",
  subnet: "azure-native:network:Subnet",
  routeTable: "azure-native:network:RouteTable",
  route: "azure-native:network:Route",
  firewall: "azure-native:network:AzureFirewall",
  ruleGroup: "azure-native:network:FirewallPolicyRuleCollectionGroup",
  registry: "azure-native:containerregistry:Registry",
  role: "azure-native:authorization:RoleAssignment",
  account: "azure-native:storage:StorageAccount",
  container: "azure-native:storage:BlobContainer",
  table: "azure-native:storage:Table",
  pool: "azure-native:containerservice:AgentPool",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  k8sProvider: "pulumi:providers:kubernetes",
};

interface Rule {
  ruleType: string;
  targetFqdns?: string[];
  fqdnTags?: string[];
}
function firewallRules(plan: Plan): Rule[] {
  return plan.all(T.ruleGroup).flatMap((g) => (input(g, "ruleCollections") as { rules: Rule[] }[]).flatMap((c) => c.rules));
}

describe("infrastructure stack", function () {
  this.timeout(60_000);
  let dev: Plan;
  let prod: Plan;
  before(async () => {
    dev = await Plan.of(stackConfig("dev"));
    prod = await Plan.of(stackConfig("prod"));
  });

  describe("kubenet (dev)", () => {
    it("creates its own VNet, node subnet and route table", () => {
      const vnet = dev.one(T.vnet);
      assert.deepEqual(input(vnet, "addressSpace", "addressPrefixes"), ["10.224.0.0/12"]);
      const subnet = dev.one(T.subnet);
      assert.equal(input(subnet, "addressPrefix"), "10.224.0.0/16");
      assert.equal(input(subnet, "routeTable", "id"), `RouteTable-${dev.one(T.routeTable).name}-id`);
      const cluster = dev.one(T.cluster);
      assert.equal(input(cluster, "networkProfile", "networkPlugin"), "kubenet");
      assert.equal(input(cluster, "networkProfile", "podCidr"), "10.244.0.0/16");
      assert.equal(input(cluster, "agentPoolProfiles", 0, "vnetSubnetID"), `Subnet-${subnet.name}-id`);
    });

    it("uses load-balancer egress and creates no firewall", () => {
      assert.equal(input(dev.one(T.cluster), "networkProfile", "outboundType"), "loadBalancer");
      assert.equal(dev.all(T.firewall).length, 0);
      assert.equal(dev.all(T.route).length, 0);
    });

    it("keeps the route table free of inline routes (AKS writes its own pod routes)", () => {
      assert.equal(input(dev.one(T.routeTable), "routes"), undefined);
    });

    it("is a small DevTest cluster without Defender", () => {
      const cluster = dev.one(T.cluster);
      assert.equal(input(cluster, "agentPoolProfiles", 0, "count"), 1);
      assert.equal(input(cluster, "agentPoolProfiles", 0, "mode"), "System");
      assert.equal(input(cluster, "securityProfile"), undefined);
      assert.equal(input(cluster, "enableRBAC"), true);
      assert.equal(input(cluster, "identity", "type"), "UserAssigned");
      assert.equal(input(cluster, "tags", TAGS.purpose), "DevTest");
    });
  });

  describe("Azure CNI behind a firewall (prod)", () => {
    const prodCfg = () => stackConfig("prod");

    it("joins the configured subnet and creates no VNet", () => {
      assert.equal(prod.all(T.vnet).length, 0);
      assert.equal(prod.all(T.subnet).length, 0);
      const cluster = prod.one(T.cluster);
      assert.equal(input(cluster, "networkProfile", "networkPlugin"), "azure");
      assert.equal(input(cluster, "agentPoolProfiles", 0, "vnetSubnetID"), prodCfg().network.subnetId);
    });

    it("routes 0.0.0.0/0 through the firewall's private IP with user-defined routing", () => {
      assert.equal(input(prod.one(T.cluster), "networkProfile", "outboundType"), "userDefinedRouting");
      const defaultRoute = prod.all(T.route).find((r) => input(r, "addressPrefix") === "0.0.0.0/0");
      assert.ok(defaultRoute, "no default route");
      assert.equal(input(defaultRoute, "nextHopType"), "VirtualAppliance");
      assert.equal(input(defaultRoute, "nextHopIpAddress"), "10.225.0.4", "the firewall's private IP");
      assert.equal(input(defaultRoute, "routeTableName"), prod.one(T.routeTable).name);
      const firewall = prod.one(T.firewall);
      assert.equal(input(firewall, "ipConfigurations", 0, "subnet", "id"), prodCfg().network.firewallSubnetId);
    });

    it("allows every required host of the stack, and nothing unrelated", () => {
      const rules = firewallRules(prod);
      const fqdns = rules.flatMap((r) => r.targetFqdns ?? []);
      const tags = rules.flatMap((r) => r.fqdnTags ?? []);
      const required = requiredHostsFor(prodCfg());
      assert.deepEqual(uncoveredHosts(required, fqdns, tags).map((h) => h.host), []);
      const requiredNames = new Set(required.map((h) => h.host));
      assert.deepEqual(fqdns.filter((f) => !requiredNames.has(f)), [], "allowed FQDNs that no required host explains");
      assert.deepEqual(tags, ["AzureKubernetesService"]);
      assert.ok(!fqdns.includes("api.azureml.ms"), "azureml-fe's token service: not called by this router, not allowed without requiredHosts.azureMlCompat");
      for (const h of ["login.microsoftonline.com", "nvidia.github.io", "packages.aks.azure.com"]) {
        assert.ok(fqdns.includes(h) || required.find((r) => r.host === h)?.source === "aks", `${h} not allowed`);
      }
      assert.ok(!fqdns.some((f) => f.endsWith("cloudapp.azure.com")), "custom domain: no cloudapp.azure.com entry");
    });

    it("opens the AKS tunnel and NTP network rules", () => {
      const rules = firewallRules(prod).filter((r) => r.ruleType === "NetworkRule") as unknown as { destinationPorts: string[]; ipProtocols: string[] }[];
      const ports = rules.map((r) => `${r.ipProtocols.join("/")}:${r.destinationPorts.join(",")}`);
      assert.deepEqual(ports.sort(), ["TCP:443", "TCP:9000", "UDP:1194", "UDP:123"]);
    });

    it("creates rule collection groups one after another, before the cluster", () => {
      const [first, second] = prod.all(T.ruleGroup);
      assert.ok(prod.dependsOn(second, first), "the second group must wait for the first");
      const cluster = prod.one(T.cluster);
      for (const g of prod.all(T.ruleGroup)) assert.ok(prod.dependsOn(cluster, g), `cluster does not wait for ${g.name}`);
      assert.ok(prod.dependsOn(cluster, prod.all(T.route)[0]), "cluster does not wait for the default route");
    });

    it("enables Defender and tags the cluster for the policy pack", () => {
      const cluster = prod.one(T.cluster);
      assert.match(String(input(cluster, "securityProfile", "defender", "logAnalyticsWorkspaceResourceId")), /Workspace-/);
      assert.equal(input(cluster, "tags", TAGS.purpose), "FastProd");
      assert.equal(input(cluster, "tags", TAGS.networkPlugin), "azure");
      assert.equal(input(cluster, "tags", TAGS.tokenRegion), "westeurope");
    });
  });

  describe("kubenet behind a firewall", () => {
    let plan: Plan;
    before(async () => {
      plan = await Plan.of(stackConfig("dev", { "aks-inference:egress": "firewall" }));
    });

    it("creates the AzureFirewallSubnet and keeps routes as separate resources", () => {
      assert.ok(plan.all(T.subnet).some((s) => input(s, "subnetName") === "AzureFirewallSubnet"));
      assert.equal(input(plan.one(T.routeTable), "routes"), undefined);
      assert.equal(plan.all(T.route).length, 2);
      assert.equal(input(plan.one(T.cluster), "networkProfile", "outboundType"), "userDefinedRouting");
    });

    it("grants the control-plane identity rights on the route table's group before the cluster", () => {
      const cluster = plan.one(T.cluster);
      const grant = plan.all(T.role).find((r) => r.name.startsWith("aks-network"));
      assert.ok(grant, "no Network Contributor assignment");
      assert.match(String(input(grant, "roleDefinitionId")), /4d97b98b-1d4f-4787-a291-c67834d212e7$/);
      assert.ok(plan.dependsOn(cluster, grant));
    });

    it("allows the nodes' range only", () => {
      const app = firewallRules(plan)[0] as unknown as { sourceAddresses: string[] };
      assert.deepEqual(app.sourceAddresses, ["10.224.0.0/16"]);
    });
  });

  it("disables the ACR admin user and grants AcrPull to the kubelet identity", () => {
    const acr = dev.one(T.registry);
    assert.equal(input(acr, "adminUserEnabled"), false);
    const pull = dev.all(T.role).find((r) => String(input(r, "roleDefinitionId")).endsWith("7f951dda-4ed3-4680-a7ca-43fe172d538d"));
    assert.ok(pull, "no AcrPull assignment");
    assert.equal(input(pull, "principalId"), "00000000-0000-0000-0000-00000000cafe", "the kubelet identity's object ID");
    assert.equal(input(pull, "scope"), `Registry-${input(acr, "registryName")}-id`);
  });

  it("creates storage without public blob access, with the model, package and data containers and a table", () => {
    const account = dev.one(T.account);
    assert.equal(input(account, "allowBlobPublicAccess"), false);
    assert.equal(input(account, "minimumTlsVersion"), "TLS1_2");
    assert.deepEqual(dev.all(T.container).map((c) => input(c, "containerName")).sort(), ["modeldata", "models", "packages"]);
    assert.ok(dev.all(T.container).every((c) => input(c, "publicAccess") === "None"));
    assert.equal(dev.all(T.table).length, 1);
  });

  it("taints and labels GPU pools and runs the NVIDIA device plugin on them", () => {
    assert.equal(dev.all(T.pool).length, 0);
    const pool = prod.one(T.pool);
    assert.equal(input(pool, "vmSize"), "Standard_NC4as_T4_v3");
    assert.deepEqual(input(pool, "nodeTaints"), [GPU_TAINT_STRING]);
    assert.equal(input(pool, "nodeLabels", GPU_POOL_LABEL), "gput4");
    assert.equal(input(pool, "nodeLabels", "workload"), "inference-gpu");
    assert.equal(input(pool, "enableAutoScaling"), true);
    const plugin = prod.one(T.daemonSet);
    const spec = input(plugin, "spec", "template", "spec") as { tolerations: { key: string; effect: string }[] };
    assert.ok(spec.tolerations.some((t) => t.key === "nvidia.com/gpu" && t.effect === "NoSchedule"));
    assert.equal(plugin.provider?.split("::")[3], prod.one(T.k8sProvider).name, "deployed with the cluster's provider");
    assert.ok(prod.dependsOn(plugin, pool));
  });

  it("keeps the kubeconfig secret", () => {
    const provider = dev.one(T.k8sProvider);
    assert.equal(input(provider, "kubeconfig"), SECRET);
    assert.equal(input(provider, "deleteUnreachable"), "true");
  });

  it("creates private DNS zones linked to the VNet, and the custom domain's record when a zone is given", async () => {
    assert.equal(prod.all("azure-native:privatedns:PrivateZone").length, 1);
    const link = prod.one("azure-native:privatedns:VirtualNetworkLink");
    assert.equal(input(link, "virtualNetwork", "id"), "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod");
    const endpoint = { ...(rawStack("prod")["aks-inference:endpoint"] as object), dnsZone: { resourceGroupName: "rg-dns", zoneName: "contoso.com" } };
    const withZone = await Plan.of(stackConfig("prod", { "aks-inference:endpoint": endpoint }));
    const record = withZone.one("azure-native:dns:RecordSet");
    assert.equal(input(record, "relativeRecordSetName"), "ml");
    assert.equal(input(record, "recordType"), "A");
    assert.equal(dev.all("azure-native:dns:RecordSet").length, 0);
  });

  it("gives the scoring endpoint a static IP with the cloudapp.azure.com label", () => {
    const ip = dev.all("azure-native:network:PublicIPAddress").find((p) => p.name === "endpoint");
    assert.equal(input(ip!, "dnsSettings", "domainNameLabel"), "aksinf-dev");
    assert.equal(input(ip!, "publicIPAllocationMethod"), "Static");
  });

  it("shows different trees for dev and prod in the offline plan", () => {
    const devTree = renderTree(dev.resources);
    const prodTree = renderTree(prod.resources);
    assert.match(prodTree, /aks-inference:egress:Firewall/);
    assert.doesNotMatch(devTree, /Firewall/);
    assert.match(devTree, /\n {4}\+ azure-native:network:VirtualNetwork {2}network-vnet/);
  });

  it("registers the same resources in preview, before any value is known", async () => {
    const preview = await Plan.of(stackConfig("prod"), true);
    assert.deepEqual(preview.resources.map((r) => r.urn).sort(), prod.resources.map((r) => r.urn).sort());
    assert.equal(input(preview.all(T.route).find((r) => input(r, "addressPrefix") === "0.0.0.0/0")!, "nextHopIpAddress"), "[unknown]");
  });
});
