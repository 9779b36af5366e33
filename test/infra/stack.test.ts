/**
 * The infrastructure stack, evaluated offline from the shipped stack files and variations of
 * them, asserting on what it would create in Azure.
 */
import * as assert from "node:assert/strict";
import { GPU_POOL_LABEL, GPU_TAINT_STRING, ROUTER_HOST_ANNOTATION, TAGS } from "../../core/contracts/naming";
import { requiredHostsFor, uncoveredHosts } from "../../core/azure/requiredHosts";
import { roleAssignmentNameFor } from "../../core/azure/rules";
import { OfflineRunFailed, SECRET, documentedNetwork, type ExistingNetwork } from "../../scripts/offline";
import { renderTree } from "../../scripts/plan";
import { Plan, input, rawStack, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  vnet: "azure-native:network:VirtualNetwork",
  subnet: "azure-native:network:Subnet",
  routeTable: "azure-native:network:RouteTable",
  route: "azure-native:network:Route",
  firewall: "azure-native:network:AzureFirewall",
  firewallPolicy: "azure-native:network:FirewallPolicy",
  publicIp: "azure-native:network:PublicIPAddress",
  service: "kubernetes:core/v1:Service",
  deployment: "kubernetes:apps/v1:Deployment",
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

const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";

interface Collection {
  ruleCollectionType: string;
  name: string;
  priority: number;
  rules: Record<string, unknown>[];
}
function collections(plan: Plan): Collection[] {
  return plan.all(T.ruleGroup).flatMap((g) => input(g, "ruleCollections") as Collection[]);
}
function rulesOf(plan: Plan, collection: string): Record<string, unknown>[] {
  return collections(plan).find((c) => c.name === collection)?.rules ?? [];
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
      assert.equal(input(cluster, "securityProfile", "defender"), undefined);
      assert.equal(input(cluster, "enableRBAC"), true);
      assert.equal(input(cluster, "identity", "type"), "UserAssigned");
      assert.equal(input(cluster, "tags", TAGS.purpose), "DevTest");
    });
  });

  describe("Azure CNI Overlay behind the hub's firewall (prod)", () => {
    const prodCfg = () => stackConfig("prod");
    const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
    const subnetId = `${SUB}/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod/subnets/snet-aks`;
    const routeTableId = `${SUB}/resourceGroups/rg-network-prod/providers/Microsoft.Network/routeTables/rt-aks-prod`;
    /** The documented subnet's range (the /24 holding endpoint.internalIp). */
    const nodes = ["10.240.0.0/24"];

    it("joins the configured subnet as CNI Overlay and creates no VNet, route table, route or firewall", () => {
      for (const t of [T.vnet, T.subnet, T.routeTable, T.route, T.firewall, T.firewallPolicy]) assert.equal(prod.all(t).length, 0, t);
      const cluster = prod.one(T.cluster);
      assert.equal(input(cluster, "networkProfile", "networkPlugin"), "azure");
      assert.equal(input(cluster, "networkProfile", "networkPluginMode"), "overlay");
      assert.equal(input(cluster, "networkProfile", "podCidr"), "10.244.0.0/16", "overlay pods: outside the VNet");
      assert.equal(input(cluster, "networkProfile", "outboundType"), "userDefinedRouting");
      assert.equal(input(cluster, "agentPoolProfiles", 0, "vnetSubnetID"), subnetId);
    });

    it("adds one rule collection group to the hub's policy, in the policy's resource group", () => {
      const group = prod.one(T.ruleGroup);
      assert.equal(input(group, "resourceGroupName"), "rg-hub-prod");
      assert.equal(input(group, "firewallPolicyName"), "fwp-hub-prod");
      assert.equal(input(group, "ruleCollectionGroupName"), "aks-inference-aksinf-prod");
      assert.equal(input(group, "priority"), 400);
      assert.deepEqual(collections(prod).map((c) => `${c.ruleCollectionType}:${c.name}:${c.priority}`), [
        "FirewallPolicyNatRuleCollection:router-ingress:100",
        "FirewallPolicyFilterRuleCollection:inference-app:300",
      ]);
      assert.ok(prod.dependsOn(prod.one(T.cluster), group), "the cluster waits for its egress rules");
    });

    it("writes to the hub's subscription and reads the spoke's through providers for those subscriptions", () => {
      const providerOf = (r: { provider?: string }) => prod.resources.find((p) => r.provider?.startsWith(`${p.urn}::`));
      const hub = providerOf(prod.one(T.ruleGroup));
      assert.equal(hub?.type, "pulumi:providers:azure-native");
      assert.equal(input(hub!, "subscriptionId"), "11111111-1111-1111-1111-111111111111", "the hub policy's subscription");
      const spoke = prod.all("pulumi:providers:azure-native").map((p) => input(p, "subscriptionId")).sort();
      assert.deepEqual(spoke, ["00000000-0000-0000-0000-000000000000", "11111111-1111-1111-1111-111111111111"]);
    });

    it("DNATs the hub firewall's public IP:443 to the router's internal load balancer", () => {
      assert.deepEqual(rulesOf(prod, "router-ingress"), [
        {
          ruleType: "NatRule",
          name: "router-443",
          description: "scoring endpoint: the firewall's public IP to the router's internal load balancer",
          ipProtocols: ["TCP"],
          sourceAddresses: ["*"],
          destinationAddresses: ["203.0.113.10"],
          destinationPorts: ["443"],
          translatedAddress: "10.240.0.200",
          translatedPort: "443",
        },
      ]);
    });

    it("opens no network rules: the AKS tunnel is konnectivity over the API server's FQDN, and nodes need no NTP rule", () => {
      // Microsoft's "Outbound network and FQDN rules for AKS clusters": UDP 1194 / TCP 9000 only
      // without konnectivity-agent, UDP 123 only for nodes provisioned before March 2021.
      assert.deepEqual(collections(prod).filter((c) => c.rules?.some((r) => r.ruleType === "NetworkRule")), []);
    });

    it("allows every required host by FQDN from the node subnet, and nothing unrelated", () => {
      const rules = rulesOf(prod, "inference-app");
      assert.deepEqual(rules.map((r) => r.name), ["aks-fqdn-tag", "inference-hosts", "gpu-hosts", "addon-hosts"]);
      for (const r of rules) assert.deepEqual(r.sourceAddresses, nodes, `${String(r.name)} sources`);
      assert.deepEqual(rules[0].fqdnTags, ["AzureKubernetesService"]);
      const required = requiredHostsFor(prodCfg());
      assert.deepEqual(rules[1].targetFqdns, required.filter((h) => h.source === "inference").map((h) => h.host));
      assert.deepEqual(rules[2].targetFqdns, required.filter((h) => h.source === "gpu").map((h) => h.host));
      assert.deepEqual(rules[3].targetFqdns, required.filter((h) => h.source === "addon").map((h) => h.host));
      const fqdns = rules.flatMap((r) => (r.targetFqdns as string[] | undefined) ?? []);
      assert.deepEqual(uncoveredHosts(required, fqdns, ["AzureKubernetesService"]).map((h) => h.host), []);
      assert.ok(fqdns.includes("*.hcp.westeurope.azmk8s.io"), "the API server by name");
      assert.ok(!fqdns.some((f) => f.endsWith("cloudapp.azure.com")), "custom domain: no cloudapp.azure.com entry");
    });

    it("exposes the router on an internal load balancer with a fixed IP, and reaches the API server by FQDN", () => {
      const svc = prod.one(T.service, "router-service");
      assert.equal(input(svc, "spec", "type"), "LoadBalancer");
      const annotations = input(svc, "metadata", "annotations") as Record<string, string>;
      assert.equal(annotations["service.beta.kubernetes.io/azure-load-balancer-internal"], "true");
      assert.equal(annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"], "10.240.0.200");
      assert.equal(annotations["service.beta.kubernetes.io/azure-pip-name"], undefined, "no public IP");
      assert.equal(input(prod.one(T.deployment, "router-deployment"), "spec", "template", "metadata", "annotations", "kubernetes.azure.com/set-kube-service-host-fqdn"), "true");
      assert.equal(prod.all(T.publicIp).length, 0, "the hub firewall's IP is the only public entry");
    });

    it("grants Network Contributor on the subnet and the route table only, under deterministic names", () => {
      const grants = prod.all(T.role).filter((r) => String(input(r, "roleDefinitionId")).endsWith(NETWORK_CONTRIBUTOR));
      assert.deepEqual(grants.map((g) => [g.name, input(g, "scope")]).sort(), [
        ["aks-network-route-table", routeTableId],
        ["aks-network-subnet", subnetId],
      ]);
      for (const g of prod.all(T.role)) {
        const name = roleAssignmentNameFor(String(input(g, "scope")), String(input(g, "roleDefinitionId")), String(input(g, "principalId")));
        assert.equal(input(g, "roleAssignmentName"), name, `${g.name}: UUID v5 of scope, role and principal`);
      }
      const cluster = prod.one(T.cluster);
      for (const g of grants) assert.ok(prod.dependsOn(cluster, g), `cluster does not wait for ${g.name}`);
    });

    it("enables Defender and tags the cluster for the policy pack", () => {
      const cluster = prod.one(T.cluster);
      assert.match(String(input(cluster, "securityProfile", "defender", "logAnalyticsWorkspaceResourceId")), /Workspace-/);
      assert.equal(input(cluster, "tags", TAGS.purpose), "FastProd");
      assert.equal(input(cluster, "tags", TAGS.networkPlugin), "azure");
      assert.equal(input(cluster, "tags", TAGS.tokenRegion), "westeurope");
    });

    it("points the custom domain's record at the hub firewall's public IP", async () => {
      const endpoint = { ...(rawStack("prod")["aks-inference:endpoint"] as object), dnsZone: { resourceGroupName: "rg-dns", zoneName: "contoso.com" } };
      const withZone = await Plan.of(stackConfig("prod", { "aks-inference:endpoint": endpoint }));
      const record = withZone.one("azure-native:dns:RecordSet");
      assert.equal(input(record, "relativeRecordSetName"), "ml");
      assert.deepEqual(input(record, "aRecords"), [{ ipv4Address: "203.0.113.10" }]);
    });
  });

  describe("preflight: the existing subnet is read during preview, before the cluster is created", () => {
    const cfg = () => stackConfig("prod");
    const refused = async (existing: ExistingNetwork, pattern: RegExp, config = cfg()) => {
      await assert.rejects(Plan.of(config, true, existing), (err: Error) => {
        assert.match(err.message, /Preflight refused the stack before creating the cluster/);
        assert.match(err.message, pattern);
        return true;
      });
    };
    const tableOf = (n: ExistingNetwork) => Object.values(n.routeTables)[0];
    const subnetOf = (n: ExistingNetwork) => Object.values(n.subnets)[0];

    it("passes with the subnet as the network team provides it (preview and up)", async () => {
      const preview = await Plan.of(cfg(), true, documentedNetwork(cfg()));
      assert.equal(preview.all(T.cluster).length, 1);
      assert.equal(input(preview.one(T.cluster), "agentPoolProfiles", 0, "vnetSubnetID"), cfg().network.subnetId);
    });

    it("refuses a subnet without a route table, naming the subnet, the rule and the Microsoft doc", async () => {
      const existing = documentedNetwork(cfg());
      subnetOf(existing).routeTableId = undefined;
      await refused(existing, /Subnet '[^']+\/subnets\/snet-aks': has no route table.*network\.routeTableId.*\(rule udr-subnet-routes-to-firewall; Microsoft: "Customize cluster egress with outbound types in Azure Kubernetes Service \(AKS\)"/s);
    });

    it("refuses a subnet associated with another route table", async () => {
      const existing = documentedNetwork(cfg());
      subnetOf(existing).routeTableId = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/routeTables/rt-other";
      await refused(existing, /is associated with route table '[^']+rt-other', not network\.routeTableId/);
    });

    it("refuses a route table whose 0.0.0.0/0 does not lead to the hub firewall", async () => {
      const existing = documentedNetwork(cfg());
      tableOf(existing).routes = [{ name: "default", addressPrefix: "0.0.0.0/0", nextHopType: "Internet" }];
      await refused(existing, /Route table '[^']+rt-aks-prod': sends 0\.0\.0\.0\/0 to Internet, not to the firewall's private IP 10\.0\.1\.4 \(firewall\.privateIp\)/);
      tableOf(existing).routes = [];
      await refused(existing, /has no 0\.0\.0\.0\/0 route/);
    });

    it("writes nothing to the network team's resources, nor creates the cluster, when the check fails", async () => {
      const existing = documentedNetwork(cfg());
      subnetOf(existing).routeTableId = undefined;
      // As the program runs during `pulumi up`: values known, resources created as they register.
      const failed = await Plan.of(cfg(), false, existing).then(
        () => assert.fail("accepted"),
        (err: unknown) => err,
      );
      assert.ok(failed instanceof OfflineRunFailed, String(failed));
      const registered = new Set(failed.registered.map((r) => r.type === T.role ? `${r.type}/${r.name}` : r.type));
      for (const t of [T.cluster, T.pool, T.ruleGroup, `${T.role}/aks-network-subnet`, `${T.role}/aks-network-route-table`]) assert.ok(!registered.has(t), `${t} was registered`);
      assert.ok(registered.has("azure-native:resources:ResourceGroup"), "the rest of the program ran");
    });

    it("refuses hub firewall IPs that are not the policy's firewall's", async () => {
      const wrongPublic = documentedNetwork(cfg());
      Object.values(wrongPublic.publicIps)[0].address = "203.0.113.99";
      await refused(wrongPublic, /Azure Firewall '[^']+azureFirewalls\/fw-hub': has public IP\(s\) 203\.0\.113\.99, not firewall\.publicIp 203\.0\.113\.10: the DNAT rule for the scoring endpoint would never match \(rule hub-firewall-matches-config; Microsoft: "Limit network traffic with Azure Firewall in Azure Kubernetes Service \(AKS\)"/);
      const wrongPrivate = documentedNetwork(cfg());
      Object.values(wrongPrivate.azureFirewalls)[0].privateIp = "10.0.1.5";
      await refused(wrongPrivate, /Firewall policy '[^']+fwp-hub-prod': belongs to firewall\(s\) with private IP 10\.0\.1\.5, not firewall\.privateIp 10\.0\.1\.4/);
      const detached = documentedNetwork(cfg());
      Object.values(detached.firewallPolicies)[0].firewallIds = [];
      await refused(detached, /is not attached to any firewall: check firewall\.policyId/);
    });

    it("refuses an internal IP outside the subnet and a pod CIDR overlapping it", async () => {
      const existing = documentedNetwork(cfg());
      subnetOf(existing).addressPrefix = "10.244.8.0/24";
      await refused(existing, /endpoint\.internalIp 10\.240\.0\.200 is not a usable address of its range 10\.244\.8\.0\/24.*pod CIDR '10\.244\.0\.0\/16' overlaps the node subnet/s);
    });

    it("reads the VNet's address space and peerings: the documented hub peering passes, one overlapping the pod CIDR is refused with the exact message (issue 26)", async () => {
      const vnetOf = (n: ExistingNetwork) => Object.values(n.virtualNetworks)[0];
      assert.deepEqual(vnetOf(documentedNetwork(cfg())).peerings, [{ name: "peer-vnet-prod-to-hub", addressPrefixes: ["10.0.0.0/16"] }], "the hub holding firewall.privateIp 10.0.1.4");
      const existing = documentedNetwork(cfg());
      vnetOf(existing).peerings.push({ name: "peer-vnet-prod-to-legacy", addressPrefixes: ["10.244.128.0/17"] });
      await assert.rejects(Plan.of(cfg(), true, existing), (err: Error) => {
        // The runtime prefixes the properties it was serializing; the preflight's own message is exact.
        assert.equal(
          err.message.slice(err.message.indexOf("Preflight refused")),
          "Preflight refused the stack before creating the cluster (read-only lookups of the existing network):\n" +
            "  - AKS cluster 'snet-aks': pod CIDR '10.244.0.0/16' (network.podCidr) overlaps 10.244.128.0/17 of peering 'peer-vnet-prod-to-legacy' of virtual network 'vnet-prod': overlay pods' traffic to and from that network would not be routed. Choose network.podCidr outside the VNet and every network peered with it (rule pod-and-service-cidr-outside-reachable-networks; Microsoft: \"Configure Azure CNI Overlay networking in Azure Kubernetes Service (AKS)\" https://learn.microsoft.com/azure/aks/azure-cni-overlay)",
        );
        return true;
      });
      const serviceInVnet = documentedNetwork(cfg());
      vnetOf(serviceInVnet).addressPrefixes.push("10.100.0.0/16");
      await refused(serviceInVnet, /service CIDR '10\.100\.0\.0\/16' \(network\.serviceCidr\) overlaps the address space 10\.100\.0\.0\/16 of virtual network 'vnet-prod'/);
    });

    it("refuses private DNS zones when the VNet's DNS servers are outside it and dns.resolverVnetId is not set (issue 26)", async () => {
      const dns = { ...(rawStack("prod")["aks-inference:dns"] as object), resolverVnetId: undefined };
      await refused(
        documentedNetwork(cfg()),
        /Virtual network 'vnet-prod': uses custom DNS servers 10\.0\.1\.4 outside its address space, which do not query the private DNS zones linked to it: dns\.privateZones internal\.contoso\.com would not resolve in the cluster\. Set dns\.resolverVnetId .*Microsoft: "Name resolution for resources in Azure virtual networks"/,
        stackConfig("prod", { "aks-inference:dns": dns }),
      );
      const azureDns = documentedNetwork(cfg());
      for (const v of Object.values(azureDns.virtualNetworks)) v.dnsServers = [];
      const plan = await Plan.of(stackConfig("prod", { "aks-inference:dns": dns }), true, azureDns);
      assert.equal(input(plan.one("azure-native:privatedns:VirtualNetworkLink"), "virtualNetwork", "id"), `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod`, "Azure-provided DNS: linked to the spoke");
    });
  });

  describe("Azure CNI with a firewall the stack creates", () => {
    let plan: Plan;
    const fwSubnet = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod/subnets/AzureFirewallSubnet";
    const created = () =>
      stackConfig("prod", {
        "aks-inference:network": { ...(rawStack("prod")["aks-inference:network"] as object), firewallSubnetId: fwSubnet },
        "aks-inference:firewall": { publicIpCount: 3 },
      });
    before(async () => {
      plan = await Plan.of(created());
    });

    it("creates the firewall, its policy and public IPs in the VNet's resource group, zone-redundant like the cluster", () => {
      const firewall = plan.one(T.firewall);
      assert.equal(input(firewall, "resourceGroupName"), "rg-network-prod", "Azure refuses a firewall outside its subnet's VNet group");
      assert.deepEqual(input(firewall, "zones"), ["1", "2", "3"]);
      assert.equal(input(firewall, "ipConfigurations", 0, "subnet", "id"), fwSubnet);
      assert.equal((input(firewall, "ipConfigurations") as unknown[]).length, 3);
      assert.equal(input(firewall, "ipConfigurations", 1, "subnet"), undefined, "only the first IP configuration names the subnet");
      const pips = plan.all(T.publicIp);
      assert.equal(pips.length, 3);
      for (const p of pips) {
        assert.equal(input(p, "resourceGroupName"), "rg-network-prod");
        assert.deepEqual(input(p, "zones"), ["1", "2", "3"]);
      }
      assert.equal(input(plan.one(T.firewallPolicy), "resourceGroupName"), "rg-network-prod");
      assert.equal(input(plan.one(T.ruleGroup), "resourceGroupName"), "rg-network-prod");
    });

    it("writes the default route into the network team's route table", () => {
      const route = plan.all(T.route).find((r) => input(r, "addressPrefix") === "0.0.0.0/0");
      assert.ok(route);
      assert.equal(input(route, "resourceGroupName"), "rg-network-prod");
      assert.equal(input(route, "routeTableName"), "rt-aks-prod");
      assert.equal(input(route, "routeName"), "aksinf-prod-to-firewall");
      assert.equal(input(route, "nextHopIpAddress"), "10.225.0.4");
      assert.ok(plan.dependsOn(plan.one(T.cluster), route));
    });

    it("warns in preview while the VNet's DNS servers are not the firewall's DNS proxy (they can only be once it exists)", async () => {
      const warnings = async (dnsServers: string[]) => {
        const existing = documentedNetwork(created());
        for (const v of Object.values(existing.virtualNetworks)) v.dnsServers = dnsServers;
        const seen: string[] = [];
        const warn = console.warn;
        console.warn = (...args: unknown[]) => void seen.push(args.join(" "));
        try {
          await Plan.of(created(), true, existing);
        } finally {
          console.warn = warn;
        }
        return seen.filter((w) => w.includes("vnet-dns-points-at-firewall-dns-proxy"));
      };
      const [w] = await warnings([]);
      assert.match(w, /Virtual network 'vnet-prod': uses DNS servers Azure-provided, not the firewall's DNS proxy 10\.225\.0\.4.*Microsoft: "Azure Firewall DNS settings"/);
      assert.deepEqual(await warnings(["10.225.0.4"]), []);
    });

    it("points the custom domain at the firewall's first public IP (an alias record)", async () => {
      const endpoint = { ...(rawStack("prod")["aks-inference:endpoint"] as object), dnsZone: { resourceGroupName: "rg-dns", zoneName: "contoso.com" } };
      const withZone = await Plan.of(stackConfig("prod", { "aks-inference:network": created().network, "aks-inference:firewall": { publicIpCount: 3 }, "aks-inference:endpoint": endpoint }));
      const record = withZone.one("azure-native:dns:RecordSet");
      assert.equal(input(record, "targetResource", "id"), "PublicIPAddress-egress-pip-0-id");
      assert.equal(String(input(withZone.one(T.firewall), "ipConfigurations", 0, "publicIPAddress", "id")), "PublicIPAddress-egress-pip-0-id");
    });

    it("refuses an existing default route the stack's own would conflict with", async () => {
      const existing = documentedNetwork(created());
      Object.values(existing.routeTables)[0].routes = [{ name: "legacy-nva", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: "10.9.9.9" }];
      await assert.rejects(Plan.of(created(), true, existing), /already has a 0\.0\.0\.0\/0 route 'legacy-nva'/);
    });
  });

  describe("kubenet behind a firewall", () => {
    let plan: Plan;
    before(async () => {
      plan = await Plan.of(stackConfig("dev", { "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.200" } }));
    });

    it("creates the AzureFirewallSubnet, the firewall in the VNet's (the stack's) group, and routes as separate resources", () => {
      assert.ok(plan.all(T.subnet).some((s) => input(s, "subnetName") === "AzureFirewallSubnet"));
      assert.equal(input(plan.one(T.firewall), "resourceGroupName"), "rg-aksinf-dev");
      assert.equal(input(plan.one(T.firewall), "zones"), undefined, "DevTest nodes are not zonal");
      assert.equal(input(plan.one(T.routeTable), "routes"), undefined);
      const routes = plan.all(T.route).map((r) => [input(r, "addressPrefix"), input(r, "nextHopType"), input(r, "nextHopIpAddress")]);
      const pip = String(input(plan.one(T.firewall), "ipConfigurations", 0, "publicIPAddress", "id"));
      assert.match(pip, /^PublicIPAddress-egress-pip-0-id$/);
      assert.deepEqual(routes[0], ["0.0.0.0/0", "VirtualAppliance", "10.225.0.4"]);
      assert.equal(routes[1][1], "Internet");
      assert.equal(input(plan.one(T.cluster), "networkProfile", "outboundType"), "userDefinedRouting");
    });

    it("points the VNet's DNS at the firewall's DNS proxy", () => {
      assert.equal(input(plan.one(T.firewallPolicy), "dnsSettings", "enableProxy"), true);
      assert.deepEqual(input(plan.one(T.vnet), "dhcpOptions", "dnsServers"), ["10.225.0.4"]);
    });

    it("gives the firewall's public IP the cloudapp label and DNATs port 80 to the router", () => {
      const pip = plan.one(T.publicIp);
      assert.equal(input(pip, "dnsSettings", "domainNameLabel"), "aksinf-dev");
      const [dnat] = rulesOf(plan, "router-ingress");
      assert.deepEqual([dnat.destinationPorts, dnat.translatedAddress, dnat.translatedPort], [["80"], "10.224.0.200", "80"]);
      assert.match(String((dnat.destinationAddresses as string[])[0]), /^20\.50\.0\.\d+$/, "the firewall's public IP");
    });

    it("grants the control-plane identity rights on the subnet and route table before the cluster", () => {
      const cluster = plan.one(T.cluster);
      const grants = plan.all(T.role).filter((r) => r.name.startsWith("aks-network"));
      assert.deepEqual(grants.map((g) => [g.name, input(g, "scope")]).sort(), [
        ["aks-network-route-table", `RouteTable-${plan.one(T.routeTable).name}-id`],
        ["aks-network-subnet", "Subnet-network-nodes-id"],
      ]);
      for (const g of grants) assert.ok(plan.dependsOn(cluster, g));
    });

    it("allows the nodes' range only", () => {
      for (const r of [...rulesOf(plan, "aks-network"), ...rulesOf(plan, "inference-app")]) assert.deepEqual(r.sourceAddresses, ["10.224.0.0/16"], String(r.name));
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

  it("creates private DNS zones linked to the resolver's VNet (the hub), and the custom domain's record when a zone is given", async () => {
    assert.equal(prod.all("azure-native:privatedns:PrivateZone").length, 1);
    const link = prod.one("azure-native:privatedns:VirtualNetworkLink");
    assert.equal(input(link, "virtualNetwork", "id"), "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub-prod/providers/Microsoft.Network/virtualNetworks/vnet-hub-prod", "dns.resolverVnetId");
    assert.equal(input(link, "resourceGroupName"), "rg-aksinf-prod", "the link lives with the zone");
    const endpoint = { ...(rawStack("prod")["aks-inference:endpoint"] as object), dnsZone: { resourceGroupName: "rg-dns", zoneName: "contoso.com" } };
    const withZone = await Plan.of(stackConfig("prod", { "aks-inference:endpoint": endpoint }));
    const record = withZone.one("azure-native:dns:RecordSet");
    assert.equal(input(record, "relativeRecordSetName"), "ml");
    assert.equal(input(record, "recordType"), "A");
    assert.equal(dev.all("azure-native:dns:RecordSet").length, 0);
  });

  it("gives the scoring endpoint a static IP with the cloudapp.azure.com label, and the public load balancer rights on its resource group (the stack's own)", () => {
    const ip = dev.one(T.publicIp, "endpoint");
    assert.equal(input(ip, "dnsSettings", "domainNameLabel"), "aksinf-dev");
    assert.equal(input(ip, "dnsSettings", "domainNameLabelScope"), "TenantReuse", "labels are global to all tenants: Azure appends a tenant hash");
    assert.equal(input(ip, "publicIPAllocationMethod"), "Static");
    const annotations = input(dev.one(T.service, "router-service"), "metadata", "annotations") as Record<string, string>;
    assert.equal(annotations["service.beta.kubernetes.io/azure-pip-name"], "endpoint");
    assert.equal(annotations["service.beta.kubernetes.io/azure-load-balancer-internal"], undefined);
    const grants = dev.all(T.role).filter((r) => String(input(r, "roleDefinitionId")).endsWith(NETWORK_CONTRIBUTOR));
    assert.deepEqual(grants.map((g) => [g.name, input(g, "scope")]).sort(), [
      // The cloud provider finds the IP by listing its group's public IPs (Microsoft: "Use a static public IP address and DNS label with the AKS load balancer").
      ["aks-network-endpoint-ip", `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(input(ip, "resourceGroupName"))}`],
      ["aks-network-route-table", "RouteTable-network-rt-id"],
      ["aks-network-subnet", "Subnet-network-nodes-id"],
    ]);
  });

  it("publishes the tenant-scoped name Azure assigns, and an explicit label as given", async () => {
    const hashed = /^aksinf-dev-[0-9a-f]{16}\.westeurope\.cloudapp\.azure\.com$/;
    const routerHost = (plan: Plan) => input(plan.one(T.service, "router-service"), "metadata", "annotations", ROUTER_HOST_ANNOTATION);
    assert.match(String(routerHost(dev)), hashed);
    const explicit = await Plan.of(stackConfig("dev", { "aks-inference:endpoint": { dnsLabel: "contoso-scoring" } }));
    assert.equal(input(explicit.one(T.publicIp, "endpoint"), "dnsSettings", "domainNameLabelScope"), undefined);
    assert.equal(routerHost(explicit), "contoso-scoring.westeurope.cloudapp.azure.com");
    // Behind a firewall the label is on the firewall's IP, and the application rule allows the assigned name.
    const firewalled = await Plan.of(stackConfig("dev", { "aks-inference:egress": "firewall", "aks-inference:endpoint": { internalIp: "10.224.0.200" } }));
    assert.equal(input(firewalled.one(T.publicIp), "dnsSettings", "domainNameLabelScope"), "TenantReuse");
    const fqdns = rulesOf(firewalled, "inference-app").flatMap((r) => (r.targetFqdns as string[] | undefined) ?? []);
    assert.ok(fqdns.some((f) => hashed.test(f)), fqdns.join(", "));
    assert.ok(!fqdns.includes("aksinf-dev.westeurope.cloudapp.azure.com"));
  });

  it("shows different trees for dev and prod in the offline plan", () => {
    const devTree = renderTree(dev.resources);
    const prodTree = renderTree(prod.resources);
    assert.match(prodTree, /aks-inference:index:Firewall/);
    assert.match(prodTree, /\n {14}DNAT router-443: TCP \* -> 203\.0\.113\.10:443 => 10\.240\.0\.200:443\n/, "each firewall rule is shown");
    assert.match(prodTree, /\n {14}allow addon-hosts: Https:443 10\.240\.0\.0\/24 -> \*\.ods\.opinsights\.azure\.com,\*\.oms\.opinsights\.azure\.com,\*\.cloud\.defender\.microsoft\.com,dc\.services\.visualstudio\.com,\*\.monitoring\.azure\.com,global\.handler\.control\.monitor\.azure\.com,westeurope\.handler\.control\.monitor\.azure\.com,westeurope\.ingest\.monitor\.azure\.com\n/);
    assert.doesNotMatch(prodTree, /aks-tunnel|AzureCloud\./, "no network rule to the region's Azure addresses");
    assert.match(prodTree, /network: networkPlugin=azure networkPluginMode=overlay networkDataplane=cilium networkPolicy=cilium podCidr=10\.244\.0\.0\/16 serviceCidr=10\.100\.0\.0\/16 outboundType=userDefinedRouting/);
    // What a platform review of prod looks for: Entra ID with Azure RBAC and no local accounts,
    // upgrade channels and their window.
    assert.match(prodTree, /\n {14}access: Entra managed enableAzureRBAC=true disableLocalAccounts=true kubernetesVersion=- /);
    assert.match(prodTree, /\n {14}upgrades: upgradeChannel=patch nodeOSUpgradeChannel=NodeImage\n/);
    assert.match(prodTree, /MaintenanceConfiguration {2}aks-auto-upgrade-schedule .*\n {14}window: every Sunday 00:00 UTC\+00:00 for 4 h\n/);
    assert.match(devTree, /\n {14}access: Entra managed enableAzureRBAC=true disableLocalAccounts=false /, "DevTest keeps local accounts");
    assert.doesNotMatch(devTree, /Firewall/);
    assert.match(devTree, /UploadedBlob {2}storage-models-regressor-\S+ {2}accountUrl=/, "a blob upload shows what it uploads");
    assert.doesNotMatch(devTree, /__provider|exports\.handler/, "not the dynamic provider's serialized code");
    assert.match(devTree, /\n {8}\+ azure-native:network:VirtualNetwork {2}network-vnet/);
  });

  it("registers the same resources in preview, before any value is known", async () => {
    const preview = await Plan.of(stackConfig("prod"), true);
    assert.deepEqual(preview.resources.map((r) => r.urn).sort(), prod.resources.map((r) => r.urn).sort());
    assert.equal(input(preview.one(T.role, "aks-network-subnet"), "roleAssignmentName"), "[unknown]", "a new identity's principal is not known yet");
  });
});
