/** Azure's rules as pure functions: each both ways, with the Microsoft document in the message. */
import * as assert from "node:assert/strict";
import {
  AZURE_RULES,
  DOCS,
  checkFirewallGroup,
  checkHubFirewall,
  checkKubernetesVersion,
  type KubernetesVersionList,
  checkInternalIp,
  checkNetworkContributorScope,
  checkNetworkRules,
  checkPodCidr,
  checkPrivateDnsLinks,
  checkReachableCidrs,
  checkRoleAssignmentName,
  checkServiceBehindFirewall,
  checkUdrSubnet,
  checkVnetDns,
  checkFirewallZones,
  firewallPrivateIpOf,
  parseResourceId,
  parseSubnetId,
  parseTopLevelId,
  roleAssignmentNameFor,
  usableInSubnet,
} from "../../core/azure/rules";

const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
const subnetId = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-aks`;
const routeTableId = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-aks`;

describe("Azure rules", () => {
  it("names a Microsoft document for every rule", () => {
    for (const rule of Object.values(AZURE_RULES)) {
      assert.ok(Object.values(DOCS).includes(rule.doc), rule.id);
      assert.match(rule.doc.url, /^https:\/\/learn\.microsoft\.com\//, rule.id);
    }
  });

  it("firewall and its subnet's VNet share a resource group", () => {
    const fw = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/AzureFirewallSubnet`;
    assert.deepEqual(checkFirewallGroup({ resource: "fw", resourceGroupName: "RG-NET", subnetId: fw }), [], "group names are case-insensitive");
    const [m] = checkFirewallGroup({ resource: "fw", resourceGroupName: "rg-app", subnetId: fw });
    assert.match(m, /^Azure Firewall 'fw': is in resource group 'rg-app' but its subnet's VNet 'vnet' is in 'rg-net'.*AzureFirewallReferencesSubnetInDifferentResourceGroup/);
    assert.ok(m.endsWith(`(rule azure-firewall-in-its-vnet-resource-group; Microsoft: "Azure Firewall FAQ" ${DOCS.firewallFaq.url})`), m);
  });

  describe("a UDR subnet's route table", () => {
    const hub = { routeTableId, firewallPrivateIp: "10.0.1.4" };
    const route = (nextHopType: string, nextHopIpAddress?: string) => ({ name: "default", addressPrefix: "0.0.0.0/0", nextHopType, nextHopIpAddress });

    it("passes with the configured table sending 0.0.0.0/0 to the hub firewall", () => {
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId: routeTableId.toUpperCase(), routes: [route("VirtualAppliance", "10.0.1.4")] }, hub), []);
    });

    it("refuses no table, another table, no default route, or one to elsewhere", () => {
      assert.match(checkUdrSubnet({ subnetId, routes: [] }, hub)[0], /has no route table/);
      assert.match(checkUdrSubnet({ subnetId, routeTableId: `${routeTableId}-2`, routes: [] }, hub)[0], /is associated with route table .*rt-aks-2', not network\.routeTableId/);
      assert.match(checkUdrSubnet({ subnetId, routeTableId, routes: [] }, hub)[0], /has no 0\.0\.0\.0\/0 route/);
      assert.match(checkUdrSubnet({ subnetId, routeTableId, routes: [route("VirtualAppliance", "10.0.9.9")] }, hub)[0], /sends 0\.0\.0\.0\/0 to VirtualAppliance 10\.0\.9\.9, not to the firewall's private IP 10\.0\.1\.4/);
      assert.match(checkUdrSubnet({ subnetId, routeTableId, routes: [route("Internet")] }, hub)[0], /\(rule udr-subnet-routes-to-firewall; Microsoft: "Customize cluster egress with outbound types/);
    });

    it("leaves the default route to the stack when it creates the firewall, refusing a conflicting one", () => {
      const own = { routeTableId, ownDefaultRouteName: "aks-to-firewall" };
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId, routes: [] }, own), []);
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId, routes: [{ ...route("VirtualAppliance", "10.225.0.4"), name: "aks-to-firewall" }] }, own), [], "its own route from an earlier up");
      assert.match(checkUdrSubnet({ subnetId, routeTableId, routes: [route("Internet")] }, own)[0], /already has a 0\.0\.0\.0\/0 route 'default'/);
    });
  });

  it("the hub's policy belongs to the firewall with the configured private and public IPs", () => {
    const policyId = `${SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/firewallPolicies/fwp`;
    const firewalls = [{ id: "fw-a", privateIps: ["10.0.1.4"], publicIps: ["203.0.113.10", "203.0.113.11"] }];
    const want = { privateIp: "10.0.1.4", publicIp: "203.0.113.11" };
    assert.deepEqual(checkHubFirewall({ policyId, firewalls }, want), []);
    assert.match(checkHubFirewall({ policyId, firewalls: [] }, want)[0], /is not attached to any firewall/);
    assert.match(checkHubFirewall({ policyId, firewalls }, { ...want, privateIp: "10.0.1.5" })[0], /not firewall\.privateIp 10\.0\.1\.5/);
    assert.match(checkHubFirewall({ policyId, firewalls }, { ...want, publicIp: "198.51.100.1" })[0], /^Azure Firewall 'fw-a': has public IP\(s\) 203\.0\.113\.10, 203\.0\.113\.11, not firewall\.publicIp 198\.51\.100\.1/);
  });

  it("internal load balancer IPs avoid Azure's reserved addresses", () => {
    assert.equal(usableInSubnet("10.240.0.0/24", "10.240.0.4"), true);
    assert.equal(usableInSubnet("10.240.0.0/24", "10.240.0.3"), false);
    assert.equal(usableInSubnet("10.240.0.0/24", "10.240.0.255"), false);
    assert.equal(usableInSubnet("10.240.0.0/24", "10.240.1.4"), false);
    assert.match(checkInternalIp({ subnetId, addressPrefix: "10.240.0.0/24" }, "10.240.1.4")[0], /endpoint\.internalIp 10\.240\.1\.4 is not a usable address of its range 10\.240\.0\.0\/24/);
  });

  it("predicts the firewall's private IP: the 4th address of AzureFirewallSubnet", () => {
    assert.equal(firewallPrivateIpOf("10.225.0.0/26"), "10.225.0.4");
    assert.equal(firewallPrivateIpOf("192.168.10.64/26"), "192.168.10.68");
  });

  it("refuses network rules that bypass application rules on web ports", () => {
    const rule = (destinations: string[], ports: string[], protocols = ["TCP"]) => ({ name: "r", protocols, destinations, ports });
    assert.equal(checkNetworkRules("g", [rule(["AzureCloud.westeurope"], ["443"])]).length, 1);
    assert.equal(checkNetworkRules("g", [rule(["*"], ["80-8080"])]).length, 1);
    assert.equal(checkNetworkRules("g", [rule(["Internet"], ["*"], ["Any"])]).length, 1);
    assert.deepEqual(checkNetworkRules("g", [rule(["AzureCloud.westeurope"], ["9000"]), rule(["AzureCloud.westeurope"], ["1194"], ["UDP"]), rule(["*"], ["123"], ["UDP"]), rule(["10.0.0.5"], ["443"])]), []);
  });

  it("behind a firewall, a LoadBalancer Service is internal with a fixed IP that a DNAT rule targets", () => {
    const internal = { "service.beta.kubernetes.io/azure-load-balancer-internal": "true", "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.240.0.200" };
    const dnat = [{ name: "https", destinationAddresses: ["203.0.113.10"], destinationPorts: ["443"], translatedAddress: "10.240.0.200", translatedPort: "443" }];
    assert.deepEqual(checkServiceBehindFirewall({ resource: "router", annotations: internal, ports: [443] }, dnat), []);
    assert.match(checkServiceBehindFirewall({ resource: "router", annotations: {}, ports: [443] }, dnat)[0], /asymmetric routing/);
    assert.match(checkServiceBehindFirewall({ resource: "router", annotations: { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" }, ports: [443] }, dnat)[0], /without a fixed IP/);
    assert.match(checkServiceBehindFirewall({ resource: "router", annotations: internal, ports: [80] }, dnat)[0], /no firewall DNAT rule forwards port 80/);
  });

  it("role assignment names are the UUID v5 of scope, role and principal", () => {
    const role = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7`;
    const name = roleAssignmentNameFor(subnetId, role, "p1");
    assert.match(name, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(roleAssignmentNameFor(subnetId.toUpperCase(), role, "P1"), name, "Azure IDs are case-insensitive");
    assert.notEqual(roleAssignmentNameFor(routeTableId, role, "p1"), name);
    assert.deepEqual(checkRoleAssignmentName({ resource: "a", scope: subnetId, roleDefinitionId: role, principalId: "p1", roleAssignmentName: name }), []);
    assert.match(checkRoleAssignmentName({ resource: "a", scope: subnetId, roleDefinitionId: role, principalId: "p1" })[0], /RoleAssignmentExists.*Microsoft: "Troubleshoot Azure RBAC"/);
  });

  it("Network Contributor on resources, never on a group or subscription", () => {
    assert.deepEqual(checkNetworkContributorScope({ resource: "a", scope: subnetId }), []);
    assert.equal(checkNetworkContributorScope({ resource: "a", scope: `${SUB}/resourceGroups/rg-app` }).length, 1);
    assert.equal(checkNetworkContributorScope({ resource: "a", scope: SUB }).length, 1);
  });

  it("pod CIDR only with kubenet or CNI Overlay, outside the node subnet", () => {
    assert.deepEqual(checkPodCidr({ resource: "aks", networkPlugin: "azure", networkPluginMode: "overlay", podCidr: "10.244.0.0/16", nodeSubnetPrefix: "10.240.0.0/24" }), []);
    assert.deepEqual(checkPodCidr({ resource: "aks", networkPlugin: "azure" }), []);
    assert.match(checkPodCidr({ resource: "aks", networkPlugin: "azure", podCidr: "10.244.0.0/16" })[0], /Azure refuses it/);
    assert.match(checkPodCidr({ resource: "aks", networkPlugin: "kubenet", podCidr: "10.240.0.0/16", nodeSubnetPrefix: "10.240.0.0/24" })[0], /overlaps the node subnet/);
  });

  describe("resource IDs", () => {
    const vnet = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet`;

    it("reads subscription, group and the path after the provider namespace", () => {
      assert.deepEqual(parseResourceId(subnetId), {
        subscriptionId: "00000000-0000-0000-0000-000000000000",
        resourceGroupName: "rg-net",
        path: ["virtualNetworks", "vnet", "subnets", "snet-aks"],
      });
      assert.equal(parseResourceId(`x${subnetId}`), undefined, "an ID starts at /subscriptions");
    });

    it("takes a subnet ID only, naming the ID it refuses", () => {
      assert.deepEqual(parseSubnetId(subnetId.replace("virtualNetworks", "VIRTUALNETWORKS")), { resourceGroupName: "rg-net", virtualNetworkName: "vnet", subnetName: "snet-aks" });
      for (const id of [vnet, `${subnetId}/extra`, `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/vnet/subnets/s`, `${vnet}/peerings/s`, "snet-aks"]) {
        assert.throws(() => parseSubnetId(id), { message: `'${id}' is not a subnet resource ID` }, id);
      }
    });

    it("takes a top-level resource of the named type only", () => {
      assert.deepEqual(parseTopLevelId(routeTableId, "routeTables"), { resourceGroupName: "rg-net", name: "rt-aks" });
      assert.deepEqual(parseTopLevelId(routeTableId, "ROUTETABLES").name, "rt-aks");
      for (const id of [subnetId, `${routeTableId}/routes/default`, `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/firewallPolicies/rt-aks`, "rt-aks"]) {
        assert.throws(() => parseTopLevelId(id, "routeTables"), { message: `'${id}' is not a routeTables resource ID` }, id);
      }
    });
  });

  it("a subnet's last address is reserved however large the subnet", () => {
    assert.equal(usableInSubnet("10.240.0.0/16", "10.240.255.255"), false);
    assert.equal(usableInSubnet("10.240.0.0/16", "10.240.255.254"), true);
    assert.equal(usableInSubnet("10.240.0.0/16", "10.239.255.254"), false);
  });

  it("role assignment names never change between releases: an existing stack keeps its assignments", () => {
    // Computed by release 1.0.0; a different name for the same triple makes every existing stack
    // replace its assignments, and Azure then refuses the new ones (RoleAssignmentExists).
    const role = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7`;
    assert.equal(roleAssignmentNameFor(subnetId, role, "p1"), "e05f1835-3798-5311-9fcb-496c28aa3a55");
    assert.equal(roleAssignmentNameFor(subnetId.toUpperCase(), role.toUpperCase(), "P1"), "e05f1835-3798-5311-9fcb-496c28aa3a55");
  });

  it("Network Contributor on a management group or the root scope is refused too; on a resource it is not", () => {
    for (const scope of ["/providers/Microsoft.Management/managementGroups/platform", "/", `${SUB}/`]) {
      assert.match(checkNetworkContributorScope({ resource: "a", scope })[0], new RegExp(`^Role assignment 'a': grants Network Contributor on '${scope}', a whole resource group, subscription or management group`), scope);
    }
    assert.deepEqual(checkNetworkContributorScope({ resource: "a", scope: `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt/subscriptions/x` }), []);
  });

  describe("network rules: every part of a rule counts, no more", () => {
    const rule = (destinations: string[], ports: string[], protocols = ["TCP"]) => ({ name: "r", protocols, destinations, ports });
    const flagged = (r: ReturnType<typeof rule>) => checkNetworkRules("g", [r]).length === 1;

    it("any web port among several ports, any TCP among several protocols, any broad destination among several", () => {
      assert.ok(flagged(rule(["AzureCloud"], ["53", "443"])));
      assert.ok(flagged(rule(["10.0.0.5", "0.0.0.0/0"], ["80"], ["UDP", "TCP"])));
      assert.ok(flagged(rule(["*"], ["443"], ["tcp"])));
    });

    it("not a port range that stops short of 80, nor a host whose name merely contains a tag", () => {
      assert.ok(!flagged(rule(["*"], ["22"])));
      assert.ok(!flagged(rule(["*"], ["1-79"])));
      assert.ok(!flagged(rule(["azurecloud.contoso.com", "my-internet", "Internet2"], ["443"])));
      assert.ok(!flagged(rule(["*"], ["443"], ["UDP", "ICMP"])));
    });

    it("names the rule, its ports and its destinations", () => {
      assert.ok(
        checkNetworkRules("fw-rules", [rule(["AzureCloud.westeurope", "10.0.0.5"], ["443", "9000"])])[0].startsWith(
          "Firewall rule collection group 'fw-rules': network rule 'r' allows TCP 443,9000 to AzureCloud.westeurope, 10.0.0.5: network rules match before application rules",
        ),
      );
    });
  });

  describe("a DNAT rule reaches the Service's port on its internal IP", () => {
    const internal = { "service.beta.kubernetes.io/azure-load-balancer-internal": "true", "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.240.0.200" };
    const svc = { resource: "router", annotations: internal, ports: [443] };
    const dnat = (r: { translatedAddress?: string; translatedPort?: string; destinationPorts?: string[] }) => [{ name: "https", destinationAddresses: ["203.0.113.10"], destinationPorts: ["443"], ...r }];

    it("by its translated port, whatever public port the firewall listens on", () => {
      assert.deepEqual(checkServiceBehindFirewall(svc, dnat({ translatedAddress: "10.240.0.200", translatedPort: "443", destinationPorts: ["8443"] })), []);
    });

    it("or, untranslated, by the port it received", () => {
      assert.deepEqual(checkServiceBehindFirewall(svc, dnat({ translatedAddress: "10.240.0.200" })), []);
      assert.equal(checkServiceBehindFirewall(svc, dnat({ translatedAddress: "10.240.0.200", destinationPorts: ["80"] })).length, 1);
    });

    it("not to another address or another port", () => {
      assert.deepEqual(checkServiceBehindFirewall(svc, dnat({ translatedAddress: "10.240.0.201", translatedPort: "443" })), [
        `Service 'router': no firewall DNAT rule forwards port 443 to its internal IP 10.240.0.200: it is unreachable from outside (rule internal-load-balancer-behind-firewall; Microsoft: "${DOCS.aksFirewall.title}" ${DOCS.aksFirewall.url})`,
      ]);
      assert.equal(checkServiceBehindFirewall(svc, dnat({ translatedAddress: "10.240.0.200", translatedPort: "8443" })).length, 1);
    });
  });

  it("a pod CIDR is refused with a BYO CNI plugin too, unless it is overlay", () => {
    assert.equal(checkPodCidr({ resource: "aks", networkPlugin: "none", podCidr: "10.244.0.0/16" }).length, 1);
    assert.deepEqual(checkPodCidr({ resource: "aks", networkPlugin: "kubenet", podCidr: "10.244.0.0/16", nodeSubnetPrefix: "10.240.0.0/24" }), []);
    assert.match(checkPodCidr({ resource: "aks", networkPlugin: "kubenet", podCidr: "10.0.0.0/8", nodeSubnetPrefix: "10.240.0.0/24" })[0], /pod CIDR '10\.0\.0\.0\/8' overlaps the node subnet '10\.240\.0\.0\/24'/, "a wider pod CIDR containing the subnet");
  });

  describe("route table messages name the subnet, the table and each next hop", () => {
    const tail = `(rule udr-subnet-routes-to-firewall; Microsoft: "${DOCS.egressUdr.title}" ${DOCS.egressUdr.url})`;

    it("the stack's own default route: other routes are left alone, a foreign default one is described", () => {
      const own = { routeTableId, ownDefaultRouteName: "aks-to-firewall" };
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId, routes: [{ name: "spoke", addressPrefix: "10.0.0.0/8", nextHopType: "VirtualAppliance", nextHopIpAddress: "10.0.1.4" }] }, own), []);
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId, routes: [{ addressPrefix: "0.0.0.0/0" }] }, own), [
        `Route table '${routeTableId}': already has a 0.0.0.0/0 route '?' (?); the stack's default route to its firewall would conflict. Remove it ${tail}`,
      ]);
    });

    it("a hub route table that sends 0.0.0.0/0 elsewhere lists every default route", () => {
      const routes = [
        { name: "a", addressPrefix: "0.0.0.0/0", nextHopType: "Internet" },
        { name: "b", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: "10.0.9.9" },
      ];
      assert.deepEqual(checkUdrSubnet({ subnetId, routeTableId, routes }, { routeTableId, firewallPrivateIp: "10.0.1.4" }), [
        `Route table '${routeTableId}': sends 0.0.0.0/0 to Internet, VirtualAppliance 10.0.9.9, not to the firewall's private IP 10.0.1.4 (firewall.privateIp) ${tail}`,
      ]);
      assert.ok(checkUdrSubnet({ subnetId, routes: [] }, { routeTableId, firewallPrivateIp: "10.0.1.4" })[0].startsWith(`Subnet '${subnetId}': has no route table`));
    });
  });

  it("hub firewall messages name the policy, every firewall's private IPs, and 'none' for no public IP", () => {
    const policyId = `${SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/firewallPolicies/fwp`;
    const firewalls = [
      { id: "fw-a", privateIps: ["10.0.1.4"], publicIps: [] },
      { id: "fw-b", privateIps: ["10.1.1.4"], publicIps: ["203.0.113.10"] },
    ];
    assert.ok(checkHubFirewall({ policyId, firewalls }, { privateIp: "10.2.1.4", publicIp: "203.0.113.10" })[0].startsWith(
      `Firewall policy '${policyId}': belongs to firewall(s) with private IP 10.0.1.4, 10.1.1.4, not firewall.privateIp 10.2.1.4 (rule hub-firewall-matches-config;`,
    ));
    assert.ok(checkHubFirewall({ policyId, firewalls }, { privateIp: "10.0.1.4", publicIp: "203.0.113.10" })[0].startsWith("Azure Firewall 'fw-a': has public IP(s) none, not firewall.publicIp 203.0.113.10"));
  });

  it("an internal IP outside the subnet names the subnet", () => {
    assert.ok(checkInternalIp({ subnetId, addressPrefix: "10.240.0.0/24" }, "10.240.0.2")[0].startsWith(`Subnet '${subnetId}': endpoint.internalIp 10.240.0.2`));
    assert.deepEqual(checkInternalIp({ subnetId }, "10.240.0.2"), [], "no prefix known: nothing to check");
  });

  it("the VNet's DNS servers include the firewall's DNS proxy", () => {
    assert.deepEqual(checkVnetDns({ vnet: "vnet", dnsServers: ["10.0.0.10", "10.0.1.4"], firewallPrivateIp: "10.0.1.4" }), []);
    assert.ok(checkVnetDns({ vnet: "vnet", dnsServers: [], firewallPrivateIp: "10.0.1.4" })[0].startsWith("Virtual network 'vnet': uses DNS servers Azure-provided, not the firewall's DNS proxy 10.0.1.4;"));
    assert.ok(checkVnetDns({ vnet: "vnet", dnsServers: ["10.0.0.10", "10.0.0.11"], firewallPrivateIp: "10.0.1.4" })[0].startsWith("Virtual network 'vnet': uses DNS servers 10.0.0.10, 10.0.0.11, not"));
  });

  it("pod and service CIDRs overlap neither the VNet's address space nor a peered network's (issue 26)", () => {
    const vnet = { vnet: "vnet-prod", addressPrefixes: ["10.240.0.0/16"], peerings: [{ name: "peer-to-hub", addressPrefixes: ["10.0.0.0/16", "10.1.0.0/16"] }] };
    assert.deepEqual(checkReachableCidrs(vnet, { resource: "aks", podCidr: "10.244.0.0/16", serviceCidr: "10.100.0.0/16" }), []);
    assert.deepEqual(checkReachableCidrs(vnet, { resource: "aks", podCidr: "10.1.128.0/17", serviceCidr: "10.240.0.0/12" }), [
      `AKS cluster 'aks': pod CIDR '10.1.128.0/17' (network.podCidr) overlaps 10.1.0.0/16 of peering 'peer-to-hub' of virtual network 'vnet-prod': overlay pods' traffic to and from that network would not be routed. Choose network.podCidr outside the VNet and every network peered with it (rule ${AZURE_RULES.reachableCidrs.id}; Microsoft: "${DOCS.cniOverlay.title}" ${DOCS.cniOverlay.url})`,
      `AKS cluster 'aks': service CIDR '10.240.0.0/12' (network.serviceCidr) overlaps the address space 10.240.0.0/16 of virtual network 'vnet-prod': the cluster could not reach those addresses (they would be taken for Services). Choose network.serviceCidr and network.dnsServiceIp outside the VNet and every network peered with it (rule ${AZURE_RULES.reachableCidrs.id}; Microsoft: "${DOCS.cniOverlay.title}" ${DOCS.cniOverlay.url})`,
    ]);
    assert.equal(checkReachableCidrs({ ...vnet, peerings: [{ name: "p", addressPrefixes: [] }] }, { resource: "aks", podCidr: "10.0.0.0/8" }).length, 1, "the VNet's own space alone");
  });

  it("private DNS zones are linked where the VNet's DNS servers resolve (issue 26)", () => {
    const v = { vnet: "vnet-prod", addressPrefixes: ["10.240.0.0/16"], dnsServers: ["10.0.1.4"], zones: ["internal.contoso.com"] };
    assert.deepEqual(checkPrivateDnsLinks({ ...v, resolverVnetId: `${SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub` }), []);
    assert.deepEqual(checkPrivateDnsLinks({ ...v, dnsServers: [] }), [], "Azure-provided DNS queries the zones linked to the VNet");
    assert.deepEqual(checkPrivateDnsLinks({ ...v, dnsServers: ["10.240.0.10"] }), [], "a DNS server inside the VNet resolves through the VNet's own links");
    assert.deepEqual(checkPrivateDnsLinks({ ...v, zones: [] }), []);
    assert.deepEqual(checkPrivateDnsLinks(v), [
      `Virtual network 'vnet-prod': uses custom DNS servers 10.0.1.4 outside its address space, which do not query the private DNS zones linked to it: dns.privateZones internal.contoso.com would not resolve in the cluster. Set dns.resolverVnetId to the VNet those DNS servers resolve from (the hub with the firewall's DNS proxy or a DNS Private Resolver): the zones are then linked to it (rule ${AZURE_RULES.privateDnsLinks.id}; Microsoft: "${DOCS.nameResolution.title}" ${DOCS.nameResolution.url})`,
    ]);
  });

  it("advises a production firewall in every cluster zone with at least two public IPs", () => {
    const f = { resource: "fw", clusterZones: ["1", "2", "3"], firewallZones: ["1", "2", "3"], publicIpCount: 2, production: true };
    assert.deepEqual(checkFirewallZones(f), []);
    assert.deepEqual(checkFirewallZones({ ...f, publicIpCount: 1, production: false }), []);
    const [zones, ips] = checkFirewallZones({ ...f, firewallZones: ["1"], publicIpCount: 1 });
    assert.ok(zones.startsWith("Azure Firewall 'fw': is not in zone(s) 2, 3 where cluster nodes run"), zones);
    assert.ok(ips.startsWith("Azure Firewall 'fw': has 1 public IP: production egress exhausts SNAT ports"), ips);
  });
});

describe("Kubernetes version offered in the region", () => {
  const list: KubernetesVersionList = {
    values: [
      { version: "1.34", capabilities: { supportPlan: ["AKSLongTermSupport"] } },
      { version: "1.35", capabilities: { supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"] } },
      { version: "1.36", isDefault: true, capabilities: { supportPlan: ["KubernetesOfficial"] } },
      { version: "1.37", isPreview: true, capabilities: { supportPlan: ["KubernetesOfficial"] } },
    ],
  };
  const check = (configured: string | undefined, longTermSupport = false) => checkKubernetesVersion({ location: "westeurope", configured, longTermSupport, list });
  const tail = ` (rule kubernetes-version-offered-in-region; Microsoft: "Supported Kubernetes versions in Azure Kubernetes Service (AKS)" https://learn.microsoft.com/azure/aks/supported-kubernetes-versions)`;
  const offered = "new clusters can be created on 1.35, 1.36 (default). Set kubernetesVersion to one of them, or remove it to take the region's default; an existing cluster on it is out of support: upgrade it one minor version at a time (docs/deploying.md, \"Upgrading AKS\")";

  it("passes the region's default (unset) and any generally available version, by minor or patch", () => {
    assert.deepEqual(check(undefined), []);
    assert.deepEqual(check("1.35"), []);
    assert.deepEqual(check("1.36.2"), []);
  });

  it("refuses a version the region does not offer, naming what new clusters can be created on", () => {
    assert.deepEqual(check("1.33"), [`kubernetesVersion '1.33' in westeurope: is not offered there; ${offered}${tail}`]);
  });

  it("refuses a version past community support unless the cluster has Long-Term Support", () => {
    assert.deepEqual(check("1.34"), [
      `kubernetesVersion '1.34' in westeurope: is past community support there: only Long-Term Support offers it, which needs the Premium tier and supportPlan AKSLongTermSupport; ${offered}${tail}`,
    ]);
    assert.deepEqual(check("1.34", true), []);
    assert.match(check("1.33", true)[0], /new clusters can be created on 1\.34, 1\.35, 1\.36 \(default\)\./, "with Long-Term Support the LTS-only versions are offered too");
  });

  it("refuses a preview version", () => {
    assert.match(check("1.37")[0], /^kubernetesVersion '1\.37' in westeurope: is offered there only as a preview \(no support, no SLA\);/);
    assert.match(checkKubernetesVersion({ location: "x", configured: "1.35", longTermSupport: false, list: {} })[0], /is not offered there; new clusters can be created on none\./);
  });
});
