/**
 * The cluster network. kubenet: the stack creates VNet, node subnet and route table (and the
 * AzureFirewallSubnet when egress goes through a firewall). azure (CNI Overlay): the cluster
 * joins an existing subnet from config; the stack creates no VNet. It reads the subnet and the
 * VNet (and with firewall egress the route table) during `pulumi preview` and stops before the
 * cluster is created if Azure would refuse it or it could not work (no route table, no default
 * route to the firewall, pod or service CIDR overlapping the VNet or a peered network, private
 * zones linked where the VNet's custom DNS servers do not look).
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import * as network from "@pulumi/azure-native/network";
import {
  checkInternalIp,
  checkPodCidr,
  checkPrivateDnsLinks,
  checkReachableCidrs,
  checkUdrSubnet,
  checkVnetDns,
  firewallPrivateIpOf,
  parseResourceId,
  parseSubnetId,
  parseTopLevelId,
} from "../core/azure/rules";
import type { FirewallConfig, NetworkPlugin } from "../core/config";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface NetworkArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** `kubenet` creates the network; `azure` joins `subnetId`. */
  plugin: NetworkPlugin;
  /** kubenet: VNet address space (default config `10.224.0.0/12`). */
  vnetAddressSpace: string;
  /** kubenet: node subnet prefix (default `10.224.0.0/16`). */
  nodeSubnetPrefix: string;
  /** kubenet with a firewall: AzureFirewallSubnet prefix (default `10.225.0.0/26`). */
  firewallSubnetPrefix: string;
  /** Pod CIDR (kubenet and CNI Overlay): checked against the existing subnet's range. */
  podCidr: string;
  /** Service CIDR: with `azure`, checked against the VNet's address space and its peerings. */
  serviceCidr?: string;
  /** Private DNS zones the stack links (dns.privateZones): with `azure`, checked against the VNet's DNS servers. */
  privateDnsZones?: string[];
  /** dns.resolverVnetId: the zones are linked to that VNet, not the cluster's. */
  dnsResolverVnetId?: string;
  /** azure: the existing node subnet. */
  subnetId?: string;
  /** azure with a stack-created firewall: the existing AzureFirewallSubnet. */
  firewallSubnetId?: string;
  /** azure with firewall egress: the existing route table associated with `subnetId`. */
  routeTableId?: string;
  /** The egress firewall, when egress goes through one. */
  firewall?: FirewallConfig;
  /** With firewall egress: the router's internal load balancer IP (must lie in the node subnet). */
  internalIp?: string;
  /** Name of the default route the stack writes into the route table (stack-created firewall). */
  defaultRouteName: string;
  /** Providers for the subscriptions of the existing subnet, route table and firewall subnet. */
  providers: SubscriptionProviders;
  tags: Record<string, string>;
}

/**
 * Providers for the network team's subscriptions: in hub-and-spoke the hub (firewall policy) and
 * the spokes (subnet, route table) often live in subscriptions other than the stack's, and Azure
 * resolves a resource group name only within the caller's subscription. One explicit provider per
 * subscription named by a configured resource ID; credentials are the deployer's, as for the
 * default provider.
 */
export class SubscriptionProviders {
  private readonly providers = new Map<string, AzureProvider>();

  /**
   * `name` makes each provider's resource name (e.g. prefixed with the environment's), `opts`
   * its options from its unprefixed name `subscription-<id>` (parent, aliases).
   */
  constructor(
    private readonly name: (bare: string) => string = (bare) => bare,
    private readonly opts: (bare: string) => pulumi.CustomResourceOptions = () => ({}),
  ) {}

  /** The provider for the subscription of `resourceId` (a full Azure resource ID). */
  for(resourceId: string): AzureProvider {
    const parsed = parseResourceId(resourceId);
    if (!parsed) throw new Error(`'${resourceId}' is not an Azure resource ID`);
    const subscriptionId = parsed.subscriptionId.toLowerCase();
    let provider = this.providers.get(subscriptionId);
    if (!provider) {
      const bare = `subscription-${subscriptionId}`;
      provider = new AzureProvider(this.name(bare), { subscriptionId }, this.opts(bare));
      this.providers.set(subscriptionId, provider);
    }
    return provider;
  }
}

/** Where the default route to the firewall lives. */
export interface RouteTableRef {
  id: pulumi.Output<string>;
  name: pulumi.Input<string>;
  resourceGroupName: pulumi.Input<string>;
  /** The network team's subscription, when the table is theirs. */
  provider?: AzureProvider;
}

/** Raised during preview (or up) when the existing network would make Azure refuse the cluster. */
export class PreflightError extends Error {
  constructor(readonly problems: string[]) {
    super(`Preflight refused the stack before creating the cluster (read-only lookups of the existing network):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PreflightError";
  }
}

export class Network extends pulumi.ComponentResource {
  /**
   * Node subnet the cluster's pools join. For an existing subnet behind a firewall this output
   * resolves only once the preflight lookups passed, so the cluster cannot be created before.
   */
  readonly nodeSubnetId: pulumi.Output<string>;
  /** Address range of the node subnet (firewall rule sources). */
  readonly nodeAddressPrefix: pulumi.Output<string>;
  /** VNet of the cluster (created, or the existing one's ID). */
  readonly vnetId: pulumi.Output<string>;
  /** AzureFirewallSubnet of a firewall the stack creates. */
  readonly firewallSubnetId?: pulumi.Output<string>;
  /** Resource group of a stack-created firewall: the one of its subnet's VNet (Azure requires it). */
  readonly firewallResourceGroupName?: pulumi.Input<string>;
  /** Provider of that resource group's subscription, when it is the network team's. */
  readonly firewallProvider?: AzureProvider;
  /** The private IP a stack-created firewall will take (the 4th address of its subnet), when known from config. */
  readonly expectedFirewallPrivateIp?: string;
  /** Route table of the node subnet: created (kubenet) or the existing one from config (CNI). */
  readonly routeTable?: RouteTableRef;
  /** The VNet, when the stack owns it (kubenet). */
  readonly vnet?: network.VirtualNetwork;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Network"), name, {}, withFormerType(FORMER_TYPES.Network, opts));
    const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };

    if (args.plugin === "kubenet") {
      // No inline routes: AKS adds its own pod routes to this table (kubenet), and our default
      // route is a separate Route resource, so neither side shows as drift in `pulumi preview`.
      const table = new network.RouteTable(`${name}-rt`, { ...common }, { parent: this, ignoreChanges: ["routes"] });
      this.routeTable = { id: table.id, name: table.name, resourceGroupName: args.resourceGroupName };
      if (args.firewall) this.expectedFirewallPrivateIp = firewallPrivateIpOf(args.firewallSubnetPrefix);
      // Subnets are separate resources so later edits do not replace the VNet; the VNet itself
      // ignores its inline `subnets` for the same reason.
      this.vnet = new network.VirtualNetwork(
        `${name}-vnet`,
        {
          ...common,
          addressSpace: { addressPrefixes: [args.vnetAddressSpace] },
          // The firewall's DNS proxy answers for the VNet, so nodes and the firewall's FQDN
          // filtering resolve names identically. Its IP is known before it exists.
          dhcpOptions: this.expectedFirewallPrivateIp ? { dnsServers: [this.expectedFirewallPrivateIp] } : undefined,
        },
        { parent: this, ignoreChanges: ["subnets"] },
      );
      const nodeSubnet = new network.Subnet(
        `${name}-nodes`,
        { resourceGroupName: args.resourceGroupName, virtualNetworkName: this.vnet.name, addressPrefix: args.nodeSubnetPrefix, routeTable: { id: table.id } },
        { parent: this },
      );
      this.nodeSubnetId = nodeSubnet.id;
      this.nodeAddressPrefix = pulumi.output(args.nodeSubnetPrefix);
      this.vnetId = this.vnet.id;
      if (args.firewall) {
        const fwSubnet = new network.Subnet(
          `${name}-firewall`,
          {
            resourceGroupName: args.resourceGroupName,
            virtualNetworkName: this.vnet.name,
            // Azure Firewall only deploys into a subnet with exactly this name.
            subnetName: "AzureFirewallSubnet",
            addressPrefix: args.firewallSubnetPrefix,
          },
          // Azure rejects concurrent subnet writes on one VNet.
          { parent: this, dependsOn: [nodeSubnet] },
        );
        this.firewallSubnetId = fwSubnet.id;
        this.firewallResourceGroupName = args.resourceGroupName;
      }
    } else {
      if (!args.subnetId) throw new Error("Network: subnetId is required for network plugin 'azure'");
      const subnetRef = parseSubnetId(args.subnetId);
      this.vnetId = pulumi.output(args.subnetId.replace(/\/subnets\/[^/]+$/i, ""));
      // Read-only: the subnet is the network team's. Its range is the firewall rules' source.
      const subnet = network.getSubnetOutput(subnetRef, { parent: this, provider: args.providers.for(args.subnetId) });
      // Read-only too: its address space and peerings (pod and service CIDRs must avoid them) and
      // its DNS servers (where private zones must be linked; the firewall's DNS proxy).
      const vnet = network.getVirtualNetworkOutput(
        { resourceGroupName: subnetRef.resourceGroupName, virtualNetworkName: subnetRef.virtualNetworkName },
        { parent: this, provider: args.providers.for(args.subnetId) },
      );
      const vnetChecks = (v: network.GetVirtualNetworkResult): string[] => {
        const addressPrefixes = v.addressSpace?.addressPrefixes ?? [];
        // remoteAddressSpace: the part of the remote VNet peered; remoteVirtualNetworkAddressSpace: its whole current space.
        const peerings = (v.virtualNetworkPeerings ?? []).map((p) => ({
          name: p.name ?? p.id ?? "?",
          addressPrefixes: [...new Set([...(p.remoteAddressSpace?.addressPrefixes ?? []), ...(p.remoteVirtualNetworkAddressSpace?.addressPrefixes ?? [])])],
        }));
        return [
          ...checkReachableCidrs({ vnet: subnetRef.virtualNetworkName, addressPrefixes, peerings }, { resource: subnetRef.subnetName, podCidr: args.podCidr, serviceCidr: args.serviceCidr }),
          ...checkPrivateDnsLinks({
            vnet: subnetRef.virtualNetworkName,
            addressPrefixes,
            dnsServers: v.dhcpOptions?.dnsServers ?? [],
            zones: args.privateDnsZones ?? [],
            resolverVnetId: args.dnsResolverVnetId,
          }),
        ];
      };
      if (!args.firewall) {
        const subnetId = args.subnetId;
        const preflight = pulumi.all([subnet, vnet]).apply(([s, v]) => {
          const problems = vnetChecks(v);
          if (problems.length > 0) throw new PreflightError(problems);
          return s.addressPrefix ?? s.addressPrefixes?.[0] ?? "";
        });
        this.nodeSubnetId = preflight.apply(() => subnetId);
        this.nodeAddressPrefix = preflight;
      } else {
        if (!args.routeTableId) throw new Error("Network: routeTableId is required for network plugin 'azure' with a firewall");
        const rt = parseTopLevelId(args.routeTableId, "routeTables");
        const rtProvider = args.providers.for(args.routeTableId);
        const table = network.getRouteTableOutput({ resourceGroupName: rt.resourceGroupName, routeTableName: rt.name }, { parent: this, provider: rtProvider });
        const subnetId = args.subnetId;
        const routeTableId = args.routeTableId;
        const firewall = args.firewall;
        const preflight = pulumi.all([subnet, table, vnet]).apply(([s, t, v]) => {
          const addressPrefix = s.addressPrefix ?? s.addressPrefixes?.[0];
          const problems = [
            ...checkUdrSubnet(
              {
                subnetId,
                routeTableId: s.routeTable?.id,
                addressPrefix,
                routes: (t.routes ?? []).map((r) => ({ name: r.name, addressPrefix: r.addressPrefix, nextHopType: r.nextHopType, nextHopIpAddress: r.nextHopIpAddress })),
              },
              firewall.kind === "hub" ? { routeTableId, firewallPrivateIp: firewall.privateIp } : { routeTableId, ownDefaultRouteName: args.defaultRouteName },
            ),
            ...(args.internalIp ? checkInternalIp({ subnetId, addressPrefix }, args.internalIp) : []),
            ...(addressPrefix ? checkPodCidr({ resource: subnetRef.subnetName, networkPlugin: "azure", networkPluginMode: "overlay", podCidr: args.podCidr, nodeSubnetPrefix: addressPrefix }) : []),
            ...vnetChecks(v),
          ];
          if (problems.length > 0) throw new PreflightError(problems);
          return { subnetId, addressPrefix: addressPrefix ?? "" };
        });
        // Everything that writes to the network team's resources or needs their subnet takes
        // its IDs from the passed check: the cluster and its node pools, the role assignments on
        // the subnet and route table, the firewall rules (sourced from the subnet's range), a
        // stack-created firewall and its default route.
        this.nodeSubnetId = preflight.apply((p) => p.subnetId);
        this.nodeAddressPrefix = preflight.apply((p) => p.addressPrefix);
        this.routeTable = { id: preflight.apply(() => routeTableId), name: rt.name, resourceGroupName: rt.resourceGroupName, provider: rtProvider };
        if (firewall.kind === "created") {
          if (!args.firewallSubnetId) throw new Error("Network: firewallSubnetId is required for a firewall created by the stack");
          const firewallSubnetId = args.firewallSubnetId;
          this.firewallSubnetId = preflight.apply(() => firewallSubnetId);
          this.firewallResourceGroupName = parseSubnetId(firewallSubnetId).resourceGroupName;
          this.firewallProvider = args.providers.for(firewallSubnetId);
        }

        if (firewall.kind === "created" && args.firewallSubnetId) {
          // The stack turns the firewall's DNS proxy on; the VNet's DNS servers are the network
          // team's. They can only point at the firewall once it exists, so this is a warning,
          // not a stop: the first `up` creates the firewall, then they switch the VNet over.
          const fwSubnet = network.getSubnetOutput(parseSubnetId(args.firewallSubnetId), { parent: this, provider: args.providers.for(args.firewallSubnetId) });
          pulumi.all([fwSubnet, vnet]).apply(([f, v]) => {
            const prefix = f.addressPrefix ?? f.addressPrefixes?.[0];
            if (!prefix) return;
            for (const w of checkVnetDns({ vnet: subnetRef.virtualNetworkName, dnsServers: v.dhcpOptions?.dnsServers ?? [], firewallPrivateIp: firewallPrivateIpOf(prefix) })) {
              void pulumi.log.warn(w, this);
            }
          });
        }
      }
    }
    this.registerOutputs({ nodeSubnetId: this.nodeSubnetId, vnetId: this.vnetId, firewallSubnetId: this.firewallSubnetId, routeTableId: this.routeTable?.id });
  }
}
