/**
 * The cluster network. kubenet: the stack creates VNet, node subnet and route table (and the
 * AzureFirewallSubnet when egress goes through a firewall). azure (CNI): the cluster joins an
 * existing subnet from config; the stack creates no VNet.
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import type { NetworkPlugin } from "../core/config";

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
  /** azure: the existing node subnet. */
  subnetId?: string;
  /** azure with a firewall: the existing AzureFirewallSubnet. */
  firewallSubnetId?: string;
  /** Whether egress goes through Azure Firewall (creates the firewall subnet and route table). */
  firewall: boolean;
  tags: Record<string, string>;
}

/** `/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>` → the VNet's ID. */
export function vnetIdOfSubnet(subnetId: string): string {
  return subnetId.replace(/\/subnets\/[^/]+$/i, "");
}

export class Network extends pulumi.ComponentResource {
  /** Node subnet the cluster's pools join. */
  readonly nodeSubnetId: pulumi.Output<string>;
  /** VNet of the cluster (created, or the existing one's ID). */
  readonly vnetId: pulumi.Output<string>;
  /** AzureFirewallSubnet, when egress goes through a firewall. */
  readonly firewallSubnetId?: pulumi.Output<string>;
  /**
   * Route table for the node subnet. kubenet: always (AKS writes pod routes into it). CNI with a
   * firewall: created here, but the existing subnet must be associated with it by its owner.
   */
  readonly routeTable?: network.RouteTable;
  /** The VNet, when the stack owns it (kubenet). */
  readonly vnet?: network.VirtualNetwork;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("aks-inference:network:Network", name, {}, opts);
    const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };

    if (args.plugin === "kubenet" || args.firewall) {
      // No inline routes: AKS adds its own pod routes to this table (kubenet), and our default
      // route is a separate Route resource, so neither side shows as drift in `pulumi preview`.
      this.routeTable = new network.RouteTable(`${name}-rt`, { ...common }, { parent: this, ignoreChanges: ["routes"] });
    }

    if (args.plugin === "kubenet") {
      // Subnets are separate resources so later edits do not replace the VNet; the VNet itself
      // ignores its inline `subnets` for the same reason.
      this.vnet = new network.VirtualNetwork(
        `${name}-vnet`,
        { ...common, addressSpace: { addressPrefixes: [args.vnetAddressSpace] } },
        { parent: this, ignoreChanges: ["subnets"] },
      );
      const nodeSubnet = new network.Subnet(
        `${name}-nodes`,
        {
          resourceGroupName: args.resourceGroupName,
          virtualNetworkName: this.vnet.name,
          addressPrefix: args.nodeSubnetPrefix,
          routeTable: { id: this.routeTable!.id },
        },
        { parent: this },
      );
      this.nodeSubnetId = nodeSubnet.id;
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
      }
    } else {
      if (!args.subnetId) throw new Error("Network: subnetId is required for network plugin 'azure'");
      this.nodeSubnetId = pulumi.output(args.subnetId);
      this.vnetId = pulumi.output(vnetIdOfSubnet(args.subnetId));
      if (args.firewall) {
        if (!args.firewallSubnetId) throw new Error("Network: firewallSubnetId is required for network plugin 'azure' with a firewall");
        this.firewallSubnetId = pulumi.output(args.firewallSubnetId);
      }
    }
    this.registerOutputs({ nodeSubnetId: this.nodeSubnetId, vnetId: this.vnetId, firewallSubnetId: this.firewallSubnetId, routeTableId: this.routeTable?.id });
  }
}
