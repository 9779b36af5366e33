/**
 * Egress through Azure Firewall: a firewall policy (DNS proxy on) whose rule collection groups
 * allow exactly the stack's required hosts (core/requiredHosts.ts) and AKS's network rules, and
 * a default route sending 0.0.0.0/0 to the firewall's private IP (`outboundType:
 * userDefinedRouting` on the cluster).
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { AKS_FQDN_TAG, type NetworkRule, type RequiredHost } from "../core/requiredHosts";

export interface FirewallArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** The AzureFirewallSubnet. */
  subnetId: pulumi.Input<string>;
  /** The node subnet's route table; the default route is added to it as a separate Route. */
  routeTable: network.RouteTable;
  /** Hosts to allow (FQDN application rules, HTTPS). */
  hosts: RequiredHost[];
  /** Network rules AKS needs (tunnel, NTP). */
  networkRules: NetworkRule[];
  /** Node address ranges allowed as sources; default `*` (CNI: the existing subnet's range is not known to the stack). */
  sourceAddresses?: string[];
  /** Firewall SKU tier; default `Standard` (needed for DNS proxy and FQDN tags). */
  tier?: "Standard" | "Premium";
  tags: Record<string, string>;
}

export class Firewall extends pulumi.ComponentResource {
  readonly privateIp: pulumi.Output<string>;
  readonly publicIp: pulumi.Output<string>;
  readonly policyId: pulumi.Output<string>;
  /**
   * What must exist before anything in the cluster needs egress (the seed's chronology: DNS and
   * egress to the API server and MCR before the router deploys): the rule collection groups and
   * the default route.
   */
  readonly egressReady: pulumi.Resource[];

  constructor(name: string, args: FirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("aks-inference:egress:Firewall", name, {}, opts);
    const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
    const sources = args.sourceAddresses ?? ["*"];

    const pip = new network.PublicIPAddress(
      `${name}-pip`,
      { ...common, sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4" },
      { parent: this },
    );
    const policy = new network.FirewallPolicy(
      `${name}-policy`,
      {
        ...common,
        sku: { tier: args.tier ?? "Standard" },
        // DNS proxy lets FQDN network rules and the nodes resolve through the firewall.
        dnsSettings: { enableProxy: true },
        threatIntelMode: "Alert",
      },
      { parent: this },
    );

    // Rule collection groups are written one after another: Azure rejects concurrent updates
    // to one firewall policy.
    const networkGroup = new network.FirewallPolicyRuleCollectionGroup(
      `${name}-aks-network`,
      {
        resourceGroupName: args.resourceGroupName,
        firewallPolicyName: policy.name,
        priority: 200,
        ruleCollections: [
          {
            ruleCollectionType: "FirewallPolicyFilterRuleCollection",
            name: "aks-network",
            priority: 200,
            action: { type: "Allow" },
            rules: args.networkRules.map((r) => ({
              ruleType: "NetworkRule" as const,
              name: r.name,
              description: r.why,
              ipProtocols: r.protocols,
              sourceAddresses: sources,
              destinationAddresses: [r.destination],
              destinationPorts: r.ports,
            })),
          },
        ],
      },
      { parent: this },
    );
    const bySource = (source: RequiredHost["source"]) => args.hosts.filter((h) => h.source === source);
    const appRule = (ruleName: string, hosts: RequiredHost[]) => ({
      ruleType: "ApplicationRule" as const,
      name: ruleName,
      description: hosts.map((h) => `${h.host}: ${h.usedBy}`).join("; ").slice(0, 1024),
      sourceAddresses: sources,
      protocols: [{ protocolType: "Https", port: 443 }],
      targetFqdns: hosts.map((h) => h.host),
    });
    const appRules = [
      {
        ruleType: "ApplicationRule" as const,
        name: "aks-fqdn-tag",
        description: "what AKS itself needs (nodes, system images, packages.aks.azure.com, ...)",
        sourceAddresses: sources,
        protocols: [
          { protocolType: "Https", port: 443 },
          { protocolType: "Http", port: 80 },
        ],
        fqdnTags: [AKS_FQDN_TAG],
      },
      appRule("inference-hosts", bySource("seed")),
      // GPU node setup, cluster add-ons (Defender) and, only when asked for, azureml-fe's hosts.
      ...(["gpu", "addon", "azureml"] as const).filter((s) => bySource(s).length > 0).map((s) => appRule(`${s}-hosts`, bySource(s))),
    ];
    const appGroup = new network.FirewallPolicyRuleCollectionGroup(
      `${name}-inference-app`,
      {
        resourceGroupName: args.resourceGroupName,
        firewallPolicyName: policy.name,
        priority: 300,
        ruleCollections: [
          { ruleCollectionType: "FirewallPolicyFilterRuleCollection", name: "inference-app", priority: 300, action: { type: "Allow" }, rules: appRules },
        ],
      },
      { parent: this, dependsOn: [networkGroup] },
    );

    const firewall = new network.AzureFirewall(
      name,
      {
        ...common,
        sku: { name: "AZFW_VNet", tier: args.tier ?? "Standard" },
        firewallPolicy: { id: policy.id },
        ipConfigurations: [{ name: "ipconfig", subnet: { id: args.subnetId }, publicIPAddress: { id: pip.id } }],
      },
      // The policy is attached at creation; wait for its rules so the firewall never runs with half of them.
      { parent: this, dependsOn: [appGroup] },
    );
    this.privateIp = firewall.ipConfigurations.apply((c) => {
      const ip = c?.[0]?.privateIPAddress;
      if (!ip) throw new Error(`Azure Firewall '${name}' reported no private IP`);
      return ip;
    });
    this.publicIp = pip.ipAddress.apply((ip) => ip ?? "");
    this.policyId = policy.id;

    // Our routes are separate resources: AKS (kubenet) writes pod routes into the same table.
    const defaultRoute = new network.Route(
      `${name}-default`,
      {
        resourceGroupName: args.resourceGroupName,
        routeTableName: args.routeTable.name,
        addressPrefix: "0.0.0.0/0",
        nextHopType: "VirtualAppliance",
        nextHopIpAddress: this.privateIp,
      },
      { parent: this },
    );
    // Replies to traffic that came in through the firewall's public IP go straight out, not
    // back through the firewall (asymmetric routing would drop them).
    const returnRoute = new network.Route(
      `${name}-internet`,
      {
        resourceGroupName: args.resourceGroupName,
        routeTableName: args.routeTable.name,
        addressPrefix: pip.ipAddress.apply((ip) => `${ip ?? "0.0.0.0"}/32`),
        nextHopType: "Internet",
      },
      { parent: this, dependsOn: [defaultRoute] },
    );
    this.egressReady = [networkGroup, appGroup, firewall, defaultRoute, returnRoute];
    this.registerOutputs({ privateIp: this.privateIp, publicIp: this.publicIp, policyId: this.policyId });
  }
}
