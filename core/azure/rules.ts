/**
 * Azure's own rules for the network this stack builds or joins, as pure checks.
 *
 * Pulumi's mocks accept anything; Azure does not. Each rule below is a constraint Azure enforces
 * (the deployment fails) or a design rule from Microsoft's AKS / Azure Firewall documentation
 * (the deployment works but is unreachable or too open). The same functions run in three places:
 * the policy pack (`policies/rules.ts`, over the evaluated resources), the stack's preflight
 * during `pulumi preview` (`components/network.ts`, over read-only lookups of the existing
 * subnet, route table and VNet), and the tests. Every message names the resource, the rule and
 * the Microsoft document it comes from.
 */
import * as ipaddr from "ipaddr.js";
import { v5 as uuidv5 } from "uuid";

export interface MicrosoftDoc {
  title: string;
  url: string;
}

/** The Microsoft documents the rules come from (title as published, and its address). */
export const DOCS = {
  firewallFaq: { title: "Azure Firewall FAQ", url: "https://learn.microsoft.com/azure/firewall/firewall-faq#are-there-any-firewall-resource-group-restrictions" },
  egressUdr: {
    title: "Customize cluster egress with outbound types in Azure Kubernetes Service (AKS)",
    url: "https://learn.microsoft.com/azure/aks/egress-outboundtype#outbound-type-of-userdefinedrouting",
  },
  aksFirewall: { title: "Limit network traffic with Azure Firewall in Azure Kubernetes Service (AKS)", url: "https://learn.microsoft.com/azure/aks/limit-egress-traffic" },
  ruleProcessing: { title: "Configure Azure Firewall rules", url: "https://learn.microsoft.com/azure/firewall/rule-processing" },
  outboundRules: {
    title: "Outbound network and FQDN rules for Azure Kubernetes Service (AKS) clusters",
    url: "https://learn.microsoft.com/azure/aks/outbound-rules-control-egress",
  },
  managedIdentity: { title: "Use a managed identity in Azure Kubernetes Service (AKS)", url: "https://learn.microsoft.com/azure/aks/use-managed-identity" },
  supportedVersions: { title: "Supported Kubernetes versions in Azure Kubernetes Service (AKS)", url: "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions" },
  staticIp: { title: "Use a static public IP address and DNS label with the Azure Kubernetes Service (AKS) load balancer", url: "https://learn.microsoft.com/azure/aks/static-ip" },
  rbacTroubleshooting: { title: "Troubleshoot Azure RBAC", url: "https://learn.microsoft.com/azure/role-based-access-control/troubleshooting" },
  cniOverlay: { title: "Configure Azure CNI Overlay networking in Azure Kubernetes Service (AKS)", url: "https://learn.microsoft.com/azure/aks/azure-cni-overlay" },
  firewallDns: { title: "Azure Firewall DNS settings", url: "https://learn.microsoft.com/azure/firewall/dns-settings" },
  firewallZones: { title: "Deploy an Azure Firewall with Availability Zones", url: "https://learn.microsoft.com/azure/firewall/deploy-availability-zone-powershell" },
  nameResolution: {
    title: "Name resolution for resources in Azure virtual networks",
    url: "https://learn.microsoft.com/azure/virtual-network/virtual-networks-name-resolution-for-vms-and-role-instances",
  },
} as const satisfies Record<string, MicrosoftDoc>;

export interface AzureRule {
  /** Stable name, also the policy name in the pack. */
  id: string;
  summary: string;
  doc: MicrosoftDoc;
  /** `fails`: Azure refuses the deployment or the nodes cannot start; `design`: it deploys but is unreachable or too open. */
  kind: "fails" | "design" | "advice";
  /** Only Azure knows the facts: checked by the preview's read-only lookups, not by the policy pack. */
  previewOnly?: true;
}

export const AZURE_RULES = {
  firewallGroup: {
    id: "azure-firewall-in-its-vnet-resource-group",
    summary: "An Azure Firewall is created in the resource group of the VNet that holds its AzureFirewallSubnet (AzureFirewallReferencesSubnetInDifferentResourceGroup).",
    doc: DOCS.firewallFaq,
    kind: "fails",
  },
  udrRoute: {
    id: "udr-subnet-routes-to-firewall",
    summary: "With outboundType userDefinedRouting, the cluster's subnet is associated with a route table sending 0.0.0.0/0 to the firewall before the cluster is created.",
    doc: DOCS.egressUdr,
    kind: "fails",
  },
  hubFirewall: {
    id: "hub-firewall-matches-config",
    summary: "The hub's firewall policy is attached to a firewall whose private IP is firewall.privateIp and which owns firewall.publicIp, the address the DNAT rule listens on.",
    doc: DOCS.aksFirewall,
    kind: "design",
    previewOnly: true,
  },
  internalLb: {
    id: "internal-load-balancer-behind-firewall",
    summary: "Behind a firewall (0.0.0.0/0 to the firewall), Services are internal and the firewall DNATs its public IP to them; a public load balancer's replies would be dropped (asymmetric routing).",
    doc: DOCS.aksFirewall,
    kind: "design",
  },
  noBroadNetworkRules: {
    id: "no-network-rule-bypassing-fqdn-filtering",
    summary: "No firewall network rule allows HTTP/HTTPS to a region's AzureCloud tag, Internet or '*': network rules match before application rules, so it would bypass the FQDN allow-list.",
    doc: DOCS.ruleProcessing,
    kind: "design",
  },
  apiServerFqdn: {
    id: "api-server-by-fqdn-behind-firewall",
    summary: "Pods that call the API server behind an application-rule firewall carry kubernetes.azure.com/set-kube-service-host-fqdn, so they reach it by its *.hcp.<region>.azmk8s.io name.",
    doc: DOCS.outboundRules,
    kind: "design",
  },
  leastPrivilege: {
    id: "network-contributor-on-resources-not-groups",
    summary:
      "The cluster identity's Network Contributor is scoped to the subnet and route table it manages, never to a subscription or a resource group other than the stack's own one holding the public IP its load balancer binds (network-contributor-on-public-ip-group).",
    doc: DOCS.managedIdentity,
    kind: "design",
  },
  kubernetesVersion: {
    id: "kubernetes-version-offered-in-region",
    summary:
      "The configured Kubernetes version is one Azure offers for new clusters in the region (its 'list Kubernetes versions' answer) under the cluster's support plan: a version past community support only with Long-Term Support, which needs the Premium tier; no preview version.",
    doc: DOCS.supportedVersions,
    kind: "fails",
    previewOnly: true,
  },
  publicIpGroupRole: {
    id: "network-contributor-on-public-ip-group",
    summary:
      "A LoadBalancer Service that names its public IP (azure-pip-name) needs the cluster identity's Network Contributor on that IP's resource group: the cloud provider finds the IP by listing the group's public IPs, which a grant on the IP alone does not allow, and the Service stays Pending.",
    doc: DOCS.staticIp,
    kind: "fails",
  },
  deterministicRoleName: {
    id: "role-assignment-name-deterministic",
    summary: "Role assignment names are the UUID v5 of scope, role and principal, so a re-created or imported stack does not meet RoleAssignmentExists.",
    doc: DOCS.rbacTroubleshooting,
    kind: "fails",
  },
  podCidr: {
    id: "pod-cidr-only-with-kubenet-or-overlay",
    summary: "A pod CIDR is sent only for kubenet or Azure CNI Overlay, and never overlaps the node subnet.",
    doc: DOCS.cniOverlay,
    kind: "fails",
  },
  reachableCidrs: {
    id: "pod-and-service-cidr-outside-reachable-networks",
    summary: "With Azure CNI Overlay, the pod CIDR and the service CIDR overlap neither the existing VNet's address space nor any network peered with it (read during preview).",
    doc: DOCS.cniOverlay,
    kind: "fails",
    previewOnly: true,
  },
  privateDnsLinks: {
    id: "private-dns-zones-linked-where-resolved",
    summary:
      "Private DNS zones are linked to the VNet whose Azure-provided DNS answers the cluster's queries: with custom DNS servers outside the cluster's VNet (a hub firewall's DNS proxy, a DNS Private Resolver), that is their VNet (dns.resolverVnetId), not the spoke.",
    doc: DOCS.nameResolution,
    kind: "design",
    previewOnly: true,
  },
  dnsProxy: {
    id: "vnet-dns-points-at-firewall-dns-proxy",
    summary: "When the firewall's DNS proxy is meant to be used, the VNet's DNS servers are the firewall's private IP.",
    doc: DOCS.firewallDns,
    kind: "design",
  },
  firewallZones: {
    id: "firewall-zones-match-cluster",
    summary: "A zonal cluster's firewall and its public IPs are zone-redundant too, and a production firewall has several public IPs against SNAT port exhaustion.",
    doc: DOCS.firewallZones,
    kind: "advice",
  },
} as const satisfies Record<string, AzureRule>;

/** `<resource>: <what is wrong> (rule <id>; Microsoft: "<title>" <url>)`. */
export function violation(rule: AzureRule, resource: string, detail: string): string {
  return `${resource}: ${detail} (rule ${rule.id}; Microsoft: "${rule.doc.title}" ${rule.doc.url})`;
}

// ---------------------------------------------------------------------------------------------
// Resource IDs

export interface ResourceIdParts {
  subscriptionId: string;
  resourceGroupName: string;
  /** `virtualNetworks/vnet/subnets/snet` → ["virtualNetworks", "vnet", "subnets", "snet"]. */
  path: string[];
}

/** `/subscriptions/<s>/resourceGroups/<g>/providers/<ns>/<type>/<name>[/<child>/<name>]`. */
export function parseResourceId(id: string): ResourceIdParts | undefined {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/(.+)$/i.exec(id);
  if (!m) return undefined;
  return { subscriptionId: m[1], resourceGroupName: m[2], path: m[3].split("/") };
}

export interface SubnetRef {
  resourceGroupName: string;
  virtualNetworkName: string;
  subnetName: string;
}

export function parseSubnetId(id: string): SubnetRef {
  const p = parseResourceId(id);
  if (!p || p.path.length !== 4 || p.path[0].toLowerCase() !== "virtualnetworks" || p.path[2].toLowerCase() !== "subnets") {
    throw new Error(`'${id}' is not a subnet resource ID`);
  }
  return { resourceGroupName: p.resourceGroupName, virtualNetworkName: p.path[1], subnetName: p.path[3] };
}

/** Resource group and name of a top-level resource (`routeTables/<name>`, `firewallPolicies/<name>`). */
export function parseTopLevelId(id: string, type: string): { resourceGroupName: string; name: string } {
  const p = parseResourceId(id);
  if (!p || p.path.length !== 2 || p.path[0].toLowerCase() !== type.toLowerCase()) throw new Error(`'${id}' is not a ${type} resource ID`);
  return { resourceGroupName: p.resourceGroupName, name: p.path[1] };
}

const sameId = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

// ---------------------------------------------------------------------------------------------
// IPv4

export function cidrsOverlap(a: string, b: string): boolean {
  const [ipA, lenA] = ipaddr.IPv4.parseCIDR(a);
  const [ipB, lenB] = ipaddr.IPv4.parseCIDR(b);
  const len = Math.min(lenA, lenB);
  return ipA.match(ipB, len);
}

/**
 * Azure reserves the first four addresses and the last one of every subnet; an internal load
 * balancer's static IP must be one of the others.
 */
export function usableInSubnet(cidr: string, ip: string): boolean {
  // An address outside the range has an offset below 0 or past the last address: no separate containment check.
  const [network, len] = ipaddr.IPv4.parseCIDR(cidr);
  const toInt = (a: ipaddr.IPv4) => a.octets.reduce((n, o) => n * 256 + o, 0);
  const offset = toInt(ipaddr.IPv4.parse(ip)) - toInt(network);
  return offset >= 4 && offset < 2 ** (32 - len) - 1;
}

/** Azure Firewall takes the first usable address of AzureFirewallSubnet (its 4th): known before it exists. */
export function firewallPrivateIpOf(firewallSubnetPrefix: string): string {
  const [network] = ipaddr.IPv4.parseCIDR(firewallSubnetPrefix);
  const o = [...network.octets];
  o[3] += 4;
  return o.join(".");
}

// ---------------------------------------------------------------------------------------------
// Role assignments

/** Fixed namespace of this project's role assignment names (UUID v5 needs one). */
const ROLE_ASSIGNMENT_NAMESPACE = "6f1f2a0e-5c1b-4d3e-9a41-8d0b7a2c9e10";

/**
 * The role assignment name for (scope, role definition, principal): the same triple always gets
 * the same name, so re-creating a stack finds (or adopts) the existing assignment instead of
 * failing with RoleAssignmentExists.
 */
export function roleAssignmentNameFor(scope: string, roleDefinitionId: string, principalId: string): string {
  return uuidv5(`${scope.toLowerCase()}|${roleDefinitionId.toLowerCase()}|${principalId.toLowerCase()}`, ROLE_ASSIGNMENT_NAMESPACE);
}

export interface RoleAssignmentFacts {
  resource: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  roleAssignmentName?: string;
}

export function checkRoleAssignmentName(r: RoleAssignmentFacts): string[] {
  const expected = roleAssignmentNameFor(r.scope, r.roleDefinitionId, r.principalId);
  if (r.roleAssignmentName === expected) return [];
  return [
    violation(
      AZURE_RULES.deterministicRoleName,
      `Role assignment '${r.resource}'`,
      r.roleAssignmentName
        ? `name '${r.roleAssignmentName}' is not the UUID v5 of its scope, role and principal ('${expected}')`
        : `has no roleAssignmentName, so Azure picks a random one and a re-created stack fails with RoleAssignmentExists; set it to '${expected}'`,
    ),
  ];
}

/**
 * `/subscriptions/<s>`, `/subscriptions/<s>/resourceGroups/<g>`, a management group or the root
 * scope `/`: scopes too wide for the cluster's network rights.
 */
export function isGroupOrSubscriptionScope(scope: string): boolean {
  return /^(\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)?\/?$/i.test(scope);
}

/** The resource group a scope is exactly (`/subscriptions/<s>/resourceGroups/<g>`), lower-cased; undefined for any other scope. */
export function resourceGroupScope(scope: string): string | undefined {
  return /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/?$/i.exec(scope)?.[1].toLowerCase();
}

/**
 * `ownPublicIpGroups`: the stack's own resource groups (holding only its resources) that hold a
 * public IP its load balancer binds: the one group scope Network Contributor needs
 * (checkPublicIpGroupRole).
 */
export function checkNetworkContributorScope(r: { resource: string; scope: string }, ownPublicIpGroups: readonly string[] = []): string[] {
  if (!isGroupOrSubscriptionScope(r.scope)) return [];
  const group = resourceGroupScope(r.scope);
  if (group !== undefined && ownPublicIpGroups.some((g) => g.toLowerCase() === group)) return [];
  return [
    violation(
      AZURE_RULES.leastPrivilege,
      `Role assignment '${r.resource}'`,
      `grants Network Contributor on '${r.scope}', a whole resource group, subscription or management group (which may hold a firewall policy or other teams' networks); scope it to the subnet and route table the cluster manages (a group only when it is the stack's own and holds the public IP the load balancer binds)`,
    ),
  ];
}

/** The router's load balancer binds a public IP by name: the cloud provider lists the IP's group to find it. */
export function checkPublicIpGroupRole(f: { service: string; ipName: string; resourceGroup: string; networkContributorScopes: readonly string[] }): string[] {
  if (f.networkContributorScopes.some((s) => resourceGroupScope(s) === f.resourceGroup.toLowerCase())) return [];
  return [
    violation(
      AZURE_RULES.publicIpGroupRole,
      `Service '${f.service}'`,
      `binds public IP '${f.ipName}' in resource group '${f.resourceGroup}', but the cluster identity has Network Contributor on no scope of that group (${f.networkContributorScopes.join(", ") || "none"}): the cloud provider cannot list the group's public IPs to find it and the Service stays Pending; grant Network Contributor on resource group '${f.resourceGroup}'`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Firewall placement and rules

export function checkFirewallGroup(f: { resource: string; resourceGroupName: string; subnetId: string }): string[] {
  const subnet = parseSubnetId(f.subnetId);
  if (subnet.resourceGroupName.toLowerCase() === f.resourceGroupName.toLowerCase()) return [];
  return [
    violation(
      AZURE_RULES.firewallGroup,
      `Azure Firewall '${f.resource}'`,
      `is in resource group '${f.resourceGroupName}' but its subnet's VNet '${subnet.virtualNetworkName}' is in '${subnet.resourceGroupName}'; Azure refuses this (AzureFirewallReferencesSubnetInDifferentResourceGroup). Create the firewall in '${subnet.resourceGroupName}', or use the hub's firewall (firewall.policyId, firewall.privateIp, firewall.publicIp)`,
    ),
  ];
}

export interface NetworkRuleFacts {
  name: string;
  protocols: string[];
  destinations: string[];
  ports: string[];
}

const WEB_PORTS = [80, 443];
function portsInclude(ports: string[], wanted: number[]): boolean {
  return ports.some((p) => {
    if (p === "*") return true;
    const [lo, hi] = p.split("-").map(Number);
    return wanted.some((w) => w >= lo && w <= (hi ?? lo));
  });
}
/** Destinations that stand for "a large part of the internet" rather than one service. */
const isBroadDestination = (d: string) => d === "*" || d === "0.0.0.0/0" || /^(AzureCloud(\.[a-z0-9]+)?|Internet)$/i.test(d);
/** Azure Firewall network rule protocols are TCP, UDP, ICMP or Any (case as the API returns it varies). */
const carriesTcp = (protocol: string) => ["TCP", "ANY"].includes(protocol.toUpperCase());

export function checkNetworkRules(resource: string, rules: NetworkRuleFacts[]): string[] {
  return rules
    .filter((r) => r.protocols.some(carriesTcp) && portsInclude(r.ports, WEB_PORTS) && r.destinations.some(isBroadDestination))
    .map((r) =>
      violation(
        AZURE_RULES.noBroadNetworkRules,
        `Firewall rule collection group '${resource}'`,
        `network rule '${r.name}' allows TCP ${r.ports.join(",")} to ${r.destinations.join(", ")}: network rules match before application rules, so every host there bypasses the FQDN allow-list. Remove it; reach the API server through the *.hcp.<region>.azmk8s.io application rule`,
      ),
    );
}

// ---------------------------------------------------------------------------------------------
// Ingress behind the firewall

export const INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal";
export const LB_IPV4_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-ipv4";
export const KUBE_SERVICE_HOST_FQDN_ANNOTATION = "kubernetes.azure.com/set-kube-service-host-fqdn";

export interface LoadBalancerServiceFacts {
  resource: string;
  annotations: Record<string, string>;
  /** Ports the Service exposes. */
  ports: number[];
}

export interface DnatRuleFacts {
  name: string;
  destinationAddresses: string[];
  destinationPorts: string[];
  translatedAddress?: string;
  /** Omitted: the port the firewall received it on. */
  translatedPort?: string;
}

/** Whether a DNAT rule delivers to `ip:port`: the translated port, or the received one when none is set. */
function dnatReaches(r: DnatRuleFacts, ip: string, port: number): boolean {
  if (r.translatedAddress !== ip) return false;
  return r.translatedPort === undefined ? portsInclude(r.destinationPorts, [port]) : r.translatedPort === String(port);
}

/**
 * Behind a firewall (outboundType userDefinedRouting), a LoadBalancer Service is internal, has a
 * fixed private IP, and the firewall DNATs each of its ports to that IP.
 */
export function checkServiceBehindFirewall(svc: LoadBalancerServiceFacts, dnat: DnatRuleFacts[]): string[] {
  const name = `Service '${svc.resource}'`;
  if (svc.annotations[INTERNAL_LB_ANNOTATION] !== "true") {
    return [
      violation(
        AZURE_RULES.internalLb,
        name,
        `is a public LoadBalancer while 0.0.0.0/0 goes to the firewall: replies leave through the firewall and are dropped (asymmetric routing). Annotate it ${INTERNAL_LB_ANNOTATION}: "true" and DNAT the firewall's public IP to it`,
      ),
    ];
  }
  const ip = svc.annotations[LB_IPV4_ANNOTATION];
  if (!ip) return [violation(AZURE_RULES.internalLb, name, `is internal without a fixed IP (${LB_IPV4_ANNOTATION}), so the firewall's DNAT rule has no known target; set endpoint.internalIp`)];
  return svc.ports
    .filter((port) => !dnat.some((r) => dnatReaches(r, ip, port)))
    .map((port) => violation(AZURE_RULES.internalLb, name, `no firewall DNAT rule forwards port ${port} to its internal IP ${ip}: it is unreachable from outside`));
}

export function checkApiServerFqdn(d: { resource: string; podAnnotations: Record<string, string> }): string[] {
  if (d.podAnnotations[KUBE_SERVICE_HOST_FQDN_ANNOTATION] === "true") return [];
  return [
    violation(
      AZURE_RULES.apiServerFqdn,
      `Deployment '${d.resource}'`,
      `calls the API server behind an application-rule firewall but its pods lack ${KUBE_SERVICE_HOST_FQDN_ANNOTATION}: "true", so they would reach it by cluster IP, which no FQDN rule allows`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Cluster network profile

export function checkPodCidr(c: { resource: string; networkPlugin: string; networkPluginMode?: string; podCidr?: string; nodeSubnetPrefix?: string }): string[] {
  const out: string[] = [];
  const name = `AKS cluster '${c.resource}'`;
  // networkPluginMode exists only for the azure plugin: overlay implies it.
  const usesPodCidr = c.networkPlugin === "kubenet" || c.networkPluginMode === "overlay";
  if (c.podCidr && !usesPodCidr) {
    out.push(
      violation(
        AZURE_RULES.podCidr,
        name,
        `sends podCidr '${c.podCidr}' with Azure CNI (pods take subnet IPs); Azure refuses it. Use Azure CNI Overlay (networkPluginMode: overlay) or send no podCidr (note: the azure-native SDK fills in 10.244.0.0/16 when it is omitted)`,
      ),
    );
  }
  if (c.podCidr && c.nodeSubnetPrefix && cidrsOverlap(c.podCidr, c.nodeSubnetPrefix)) {
    out.push(violation(AZURE_RULES.podCidr, name, `pod CIDR '${c.podCidr}' overlaps the node subnet '${c.nodeSubnetPrefix}'; choose network.podCidr outside the VNet`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The existing subnet, route table and VNet (read during `pulumi preview`)

/** The existing VNet as `getVirtualNetwork` reports it: its address space, and each peering's remote ranges. */
export interface VnetFacts {
  vnet: string;
  addressPrefixes: string[];
  peerings: { name: string; addressPrefixes: string[] }[];
}

/**
 * Microsoft, "Configure Azure CNI Overlay networking in Azure Kubernetes Service (AKS)": the pod
 * CIDR must not overlap the cluster's VNet nor any network peered with it (overlay pod traffic is
 * SNATed to the node's IP, but replies to a range the VNet routes elsewhere never reach the pods),
 * and the service CIDR must not overlap any network the cluster reaches (addresses in it are taken
 * for Services inside the cluster). checkPodCidr covers the node subnet; this covers the VNet's
 * whole address space and its peerings.
 */
export function checkReachableCidrs(v: VnetFacts, c: { resource: string; podCidr?: string; serviceCidr?: string }): string[] {
  const reachable = [
    ...v.addressPrefixes.map((range) => ({ range, where: `the address space ${range} of virtual network '${v.vnet}'` })),
    ...v.peerings.flatMap((p) => p.addressPrefixes.map((range) => ({ range, where: `${range} of peering '${p.name}' of virtual network '${v.vnet}'` }))),
  ];
  const out: string[] = [];
  const name = `AKS cluster '${c.resource}'`;
  const pod = c.podCidr && reachable.find((r) => cidrsOverlap(c.podCidr!, r.range));
  if (pod) {
    out.push(
      violation(
        AZURE_RULES.reachableCidrs,
        name,
        `pod CIDR '${c.podCidr}' (network.podCidr) overlaps ${pod.where}: overlay pods' traffic to and from that network would not be routed. Choose network.podCidr outside the VNet and every network peered with it`,
      ),
    );
  }
  const service = c.serviceCidr && reachable.find((r) => cidrsOverlap(c.serviceCidr!, r.range));
  if (service) {
    out.push(
      violation(
        AZURE_RULES.reachableCidrs,
        name,
        `service CIDR '${c.serviceCidr}' (network.serviceCidr) overlaps ${service.where}: the cluster could not reach those addresses (they would be taken for Services). Choose network.serviceCidr and network.dnsServiceIp outside the VNet and every network peered with it`,
      ),
    );
  }
  return out;
}

/**
 * Microsoft, "Name resolution for resources in Azure virtual networks" (and "What is a virtual
 * network link?" of Azure Private DNS): a private zone answers queries that reach Azure-provided
 * DNS (168.63.129.16) from a VNet linked to it. A VNet with custom DNS servers sends its queries
 * to them, and they resolve from their own VNet: zones linked only to the cluster's VNet are not
 * queried. A DNS server inside the VNet's own address space resolves through the VNet's links.
 * `resolverVnetId` (dns.resolverVnetId): the zones are linked to the resolver's VNet instead.
 */
export function checkPrivateDnsLinks(v: { vnet: string; addressPrefixes: string[]; dnsServers: string[]; zones: string[]; resolverVnetId?: string }): string[] {
  if (v.zones.length === 0 || v.resolverVnetId || v.dnsServers.length === 0) return [];
  const inVnet = (ip: string) => ipaddr.IPv4.isValid(ip) && v.addressPrefixes.some((range) => ipaddr.IPv4.parse(ip).match(ipaddr.IPv4.parseCIDR(range)));
  const outside = v.dnsServers.filter((ip) => !inVnet(ip));
  if (outside.length === 0) return [];
  return [
    violation(
      AZURE_RULES.privateDnsLinks,
      `Virtual network '${v.vnet}'`,
      `uses custom DNS servers ${outside.join(", ")} outside its address space, which do not query the private DNS zones linked to it: dns.privateZones ${v.zones.join(", ")} would not resolve in the cluster. Set dns.resolverVnetId to the VNet those DNS servers resolve from (the hub with the firewall's DNS proxy or a DNS Private Resolver): the zones are then linked to it`,
    ),
  ];
}

export interface RouteFacts {
  name?: string;
  addressPrefix?: string;
  nextHopType?: string;
  nextHopIpAddress?: string;
}

export interface ExistingSubnetFacts {
  /** The cluster's subnet, as configured. */
  subnetId: string;
  /** The route table Azure reports on the subnet. */
  routeTableId?: string;
  addressPrefix?: string;
  /** Routes of the configured route table. */
  routes: RouteFacts[];
}

export interface UdrExpectation {
  /** `network.routeTableId`. */
  routeTableId: string;
  /**
   * The firewall's private IP the default route must lead to (hub firewall: from config), or
   * undefined when this stack writes the default route itself (its own firewall).
   */
  firewallPrivateIp?: string;
  /** Name of the default route this stack writes, when it does. */
  ownDefaultRouteName?: string;
}

/** `VirtualAppliance 10.0.1.4`, `Internet`. */
const nextHop = (r: RouteFacts) => [r.nextHopType ?? "?", r.nextHopIpAddress].filter(Boolean).join(" ");

/**
 * With user-defined routing, AKS refuses to create a cluster whose subnet has no route table,
 * and nodes without a default route to the firewall never bootstrap.
 */
export function checkUdrSubnet(s: ExistingSubnetFacts, want: UdrExpectation): string[] {
  const name = `Subnet '${s.subnetId}'`;
  if (!s.routeTableId) {
    return [
      violation(
        AZURE_RULES.udrRoute,
        name,
        `has no route table, and outboundType userDefinedRouting needs one before the cluster is created. The network team associates network.routeTableId '${want.routeTableId}' with it (az network vnet subnet update --ids <subnet> --route-table <id>)`,
      ),
    ];
  }
  if (!sameId(s.routeTableId, want.routeTableId)) {
    return [violation(AZURE_RULES.udrRoute, name, `is associated with route table '${s.routeTableId}', not network.routeTableId '${want.routeTableId}'; fix the association or the config`)];
  }
  const defaults = s.routes.filter((r) => r.addressPrefix === "0.0.0.0/0");
  if (want.firewallPrivateIp === undefined) {
    // The stack writes its own default route into the table; another one would conflict.
    const foreign = defaults.filter((r) => r.name !== want.ownDefaultRouteName);
    return foreign.map((r) =>
      violation(AZURE_RULES.udrRoute, `Route table '${want.routeTableId}'`, `already has a 0.0.0.0/0 route '${r.name ?? "?"}' (${nextHop(r)}); the stack's default route to its firewall would conflict. Remove it`),
    );
  }
  const ok = defaults.some((r) => r.nextHopType === "VirtualAppliance" && r.nextHopIpAddress === want.firewallPrivateIp);
  if (ok) return [];
  return [
    violation(
      AZURE_RULES.udrRoute,
      `Route table '${want.routeTableId}'`,
      defaults.length === 0
        ? `has no 0.0.0.0/0 route; nodes cannot reach anything. It needs 0.0.0.0/0 → VirtualAppliance ${want.firewallPrivateIp} (firewall.privateIp)`
        : `sends 0.0.0.0/0 to ${defaults.map(nextHop).join(", ")}, not to the firewall's private IP ${want.firewallPrivateIp} (firewall.privateIp)`,
    ),
  ];
}

export interface HubFirewallFacts {
  policyId: string;
  /** The firewalls Azure reports using the policy, with their private and public addresses. */
  firewalls: { id: string; privateIps: string[]; publicIps: string[] }[];
}

/** A wrong `firewall.privateIp` or `firewall.publicIp` would route nowhere or DNAT an address no firewall owns. */
export function checkHubFirewall(f: HubFirewallFacts, want: { privateIp: string; publicIp: string }): string[] {
  const name = `Firewall policy '${f.policyId}'`;
  if (f.firewalls.length === 0) return [violation(AZURE_RULES.hubFirewall, name, "is not attached to any firewall: check firewall.policyId (the policy of the hub's firewall)")];
  const firewall = f.firewalls.find((x) => x.privateIps.includes(want.privateIp));
  if (!firewall) {
    return [
      violation(AZURE_RULES.hubFirewall, name, `belongs to firewall(s) with private IP ${f.firewalls.flatMap((x) => x.privateIps).join(", ")}, not firewall.privateIp ${want.privateIp}`),
    ];
  }
  if (firewall.publicIps.includes(want.publicIp)) return [];
  return [
    violation(
      AZURE_RULES.hubFirewall,
      `Azure Firewall '${firewall.id}'`,
      `has public IP(s) ${firewall.publicIps.join(", ") || "none"}, not firewall.publicIp ${want.publicIp}: the DNAT rule for the scoring endpoint would never match`,
    ),
  ];
}

export function checkInternalIp(s: { subnetId: string; addressPrefix?: string }, internalIp: string): string[] {
  if (!s.addressPrefix || usableInSubnet(s.addressPrefix, internalIp)) return [];
  return [
    violation(
      AZURE_RULES.internalLb,
      `Subnet '${s.subnetId}'`,
      `endpoint.internalIp ${internalIp} is not a usable address of its range ${s.addressPrefix} (Azure reserves the first four and the last); the router's internal load balancer could not take it`,
    ),
  ];
}

export function checkVnetDns(v: { vnet: string; dnsServers: string[]; firewallPrivateIp: string }): string[] {
  if (v.dnsServers.includes(v.firewallPrivateIp)) return [];
  return [
    violation(
      AZURE_RULES.dnsProxy,
      `Virtual network '${v.vnet}'`,
      `uses DNS servers ${v.dnsServers.length ? v.dnsServers.join(", ") : "Azure-provided"}, not the firewall's DNS proxy ${v.firewallPrivateIp}; nodes and the firewall may resolve FQDNs differently. Set the VNet's DNS servers to ${v.firewallPrivateIp}`,
    ),
  ];
}

export function checkFirewallZones(f: { resource: string; clusterZones: string[]; firewallZones: string[]; publicIpCount: number; production: boolean }): string[] {
  const out: string[] = [];
  const missing = f.clusterZones.filter((z) => !f.firewallZones.includes(z));
  if (missing.length > 0) {
    out.push(violation(AZURE_RULES.firewallZones, `Azure Firewall '${f.resource}'`, `is not in zone(s) ${missing.join(", ")} where cluster nodes run: a zone outage would cut the cluster's egress`));
  }
  if (f.production && f.publicIpCount < 2) {
    out.push(violation(AZURE_RULES.firewallZones, `Azure Firewall '${f.resource}'`, `has ${f.publicIpCount} public IP: production egress exhausts SNAT ports; set firewall.publicIpCount (Microsoft recommends 20 for production)`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes versions

/** api-version of "Managed Clusters - List Kubernetes Versions" (GET .../locations/<region>/kubernetesVersions). */
export const KUBERNETES_VERSIONS_API = "2024-02-01";

/** Azure's answer to "list Kubernetes versions" for a region, as far as it is read here. */
export interface KubernetesVersionList {
  values?: { version: string; isDefault?: boolean; isPreview?: boolean; capabilities?: { supportPlan?: string[] } }[];
}

/**
 * Whether a cluster can be created on `configured` (a minor `1.35` or a patch `1.35.2`) in
 * `location`, from Azure's own list. Unset: AKS's default for the region, always offered.
 * `longTermSupport`: the cluster's support plan is AKSLongTermSupport (Premium tier).
 */
export function checkKubernetesVersion(f: { location: string; configured?: string; longTermSupport: boolean; list: KubernetesVersionList }): string[] {
  if (f.configured === undefined) return [];
  const minor = f.configured.split(".").slice(0, 2).join(".");
  const values = f.list.values ?? [];
  const creatable = values.filter((v) => !v.isPreview && (f.longTermSupport || (v.capabilities?.supportPlan ?? []).includes("KubernetesOfficial")));
  const offered = creatable.map((v) => `${v.version}${v.isDefault ? " (default)" : ""}`).join(", ") || "none";
  const found = values.find((v) => v.version === minor);
  const why = !found
    ? "is not offered there"
    : found.isPreview
      ? "is offered there only as a preview (no support, no SLA)"
      : !creatable.includes(found)
        ? "is past community support there: only Long-Term Support offers it, which needs the Premium tier and supportPlan AKSLongTermSupport"
        : undefined;
  if (!why) return [];
  return [
    violation(
      AZURE_RULES.kubernetesVersion,
      `kubernetesVersion '${f.configured}' in ${f.location}`,
      `${why}; new clusters can be created on ${offered}. Set kubernetesVersion to one of them, or remove it to take the region's default; an existing cluster on it is out of support: upgrade it one minor version at a time (docs/deploying.md, "Upgrading AKS")`,
    ),
  ];
}
