/**
 * Egress (and the scoring endpoint's ingress) through Azure Firewall, as Microsoft's "Limit
 * network traffic with Azure Firewall in AKS" builds it: 0.0.0.0/0 from the node subnet to the
 * firewall's private IP, FQDN application rules for exactly the required hosts
 * (core/azure/requiredHosts.ts), network rules only where given (AKS itself needs none today:
 * aksNetworkRules), and a DNAT rule from the firewall's public IP to the router's internal load
 * balancer.
 *
 * Two shapes, chosen by config:
 *  - `hub`: the network team's existing firewall. The stack only adds its own rule collection
 *    group to that firewall policy (in the policy's resource group) and creates no firewall.
 *  - `created`: the stack creates policy, public IPs and firewall in the resource group of the
 *    VNet holding the AzureFirewallSubnet (Azure refuses a firewall in another group), and writes
 *    the default route into the node subnet's route table.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import * as network from "@pulumi/azure-native/network";
import { checkHubFirewall, parseTopLevelId } from "../core/azure/rules";
import type { FirewallConfig } from "../core/config";
import { AKS_FQDN_TAG, type NetworkRule, type RequiredHost } from "../core/azure/requiredHosts";
import { PreflightError, type RouteTableRef, type SubscriptionProviders } from "./network";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface FirewallArgs {
  config: FirewallConfig;
  location: pulumi.Input<string>;
  /** Name of the stack's rule collection group (unique within a shared hub policy). */
  ruleCollectionGroupName: string;
  /** Hosts to allow (FQDN application rules, HTTPS). */
  hosts: RequiredHost[];
  /**
   * Network (IP) rules to allow besides the FQDN rules; the `aks-network` collection is written
   * only when there is one. AKS needs none (aksNetworkRules: no tunnel or NTP rule with
   * konnectivity and nodes provisioned after March 2021, per Microsoft's "Outbound network and
   * FQDN rules for Azure Kubernetes Service (AKS) clusters").
   */
  networkRules: NetworkRule[];
  /** Node address ranges allowed as sources (the node subnet's range). */
  sourceAddresses: pulumi.Input<string[]>;
  /** DNAT from the firewall's public IP to the router's internal load balancer. */
  dnat: { internalIp: string; ports: number[] };
  /** hub: providers for the subscription of the hub's policy (often not the stack's). */
  providers: SubscriptionProviders;
  /** created: resource group of the firewall subnet's VNet. */
  resourceGroupName?: pulumi.Input<string>;
  /** created: provider of that group's subscription, when it is the network team's (CNI). */
  provider?: AzureProvider;
  /** created: the AzureFirewallSubnet. */
  subnetId?: pulumi.Input<string>;
  /** created: the private IP the firewall is expected to take (VNet DNS already points at it). */
  expectedPrivateIp?: string;
  /** created: the node subnet's route table; the default route is added to it as a separate Route. */
  routeTable?: RouteTableRef;
  /** created: name of that default route (the preflight recognises it as the stack's own). */
  defaultRouteName?: string;
  /** created: availability zones of the cluster's nodes; the firewall and its IPs span them too. */
  zones: string[];
  /** created: `cloudapp.azure.com` label on the first public IP (the scoring endpoint without a custom domain). */
  dnsLabel?: { label: string; scope?: "TenantReuse" };
  /**
   * created, with `dnsLabel`: the endpoint's name as the required hosts list it
   * (`<label>.<region>.cloudapp.azure.com`); the application rule allows the name Azure actually
   * assigned (with a tenant-scoped label, `<label>-<hash>...`).
   */
  endpointHost?: string;
  /** created: firewall SKU tier; default `Standard` (needed for DNS proxy and FQDN tags). */
  tier?: "Standard" | "Premium";
  tags: Record<string, string>;
}

export class Firewall extends pulumi.ComponentResource {
  readonly privateIp: pulumi.Output<string>;
  /** The public IP the DNAT rule listens on (the scoring endpoint's address). */
  readonly publicIp: pulumi.Output<string>;
  /** created: that public IP's resource (DNS alias records target it). */
  readonly publicIpResource?: network.PublicIPAddress;
  readonly policyId: pulumi.Output<string>;
  /**
   * What must exist before anything in the cluster needs egress (Azure ML v1's chronology: DNS and
   * egress to the API server and MCR before the router deploys): the rules and, for a created
   * firewall, the firewall and the default route.
   */
  readonly egressReady: pulumi.Resource[];

  constructor(name: string, args: FirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Firewall"), name, {}, withFormerType(FORMER_TYPES.Firewall, opts));
    const cfg = args.config;
    const sources = args.sourceAddresses;

    let policyName: pulumi.Input<string>;
    let policyGroup: pulumi.Input<string>;
    let policy: network.FirewallPolicy | undefined;
    // Where the policy and, for a created firewall, everything else lives.
    const inPolicyGroup: pulumi.CustomResourceOptions = { parent: this, provider: cfg.kind === "hub" ? args.providers.for(cfg.policyId) : args.provider };
    const pips: network.PublicIPAddress[] = [];
    let hubChecked: pulumi.Output<true> | undefined;
    if (cfg.kind === "hub") {
      const ref = parseTopLevelId(cfg.policyId, "firewallPolicies");
      policyName = ref.name;
      policyGroup = ref.resourceGroupName;
      this.policyId = pulumi.output(cfg.policyId);
      hubChecked = this.checkHub(cfg, args.providers);
      this.publicIp = hubChecked.apply(() => cfg.publicIp);
    } else {
      if (!args.resourceGroupName || !args.subnetId || !args.routeTable) throw new Error(`Firewall '${name}': a created firewall needs resourceGroupName, subnetId and routeTable`);
      const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
      const zones = args.zones.length > 0 ? args.zones : undefined;
      for (let i = 0; i < cfg.publicIpCount; i++) {
        pips.push(
          new network.PublicIPAddress(
            `${name}-pip-${i}`,
            {
              ...common,
              sku: { name: "Standard", tier: "Regional" },
              publicIPAllocationMethod: "Static",
              publicIPAddressVersion: "IPv4",
              zones,
              dnsSettings: i === 0 && args.dnsLabel ? { domainNameLabel: args.dnsLabel.label, domainNameLabelScope: args.dnsLabel.scope } : undefined,
            },
            inPolicyGroup,
          ),
        );
      }
      this.publicIpResource = pips[0];
      this.publicIp = pips[0].ipAddress.apply((ip) => ip ?? "");
      policy = new network.FirewallPolicy(
        `${name}-policy`,
        {
          ...common,
          sku: { tier: args.tier ?? "Standard" },
          // The VNet's DNS servers point at the firewall (kubenet: set by the stack; CNI: by the
          // network team, warned about in preview), so nodes and FQDN filtering resolve alike.
          dnsSettings: { enableProxy: true },
          threatIntelMode: "Alert",
        },
        inPolicyGroup,
      );
      policyName = policy.name;
      policyGroup = args.resourceGroupName;
      this.policyId = policy.id;
    }

    const bySource = (source: RequiredHost["source"]) => args.hosts.filter((h) => h.source === source);
    const assignedFqdn = pips[0]?.dnsSettings.apply((d) => d?.fqdn ?? "");
    const fqdnOf = (h: RequiredHost): pulumi.Input<string> => (assignedFqdn && h.host === args.endpointHost ? assignedFqdn : h.host);
    const appRule = (ruleName: string, hosts: RequiredHost[]) => ({
      ruleType: "ApplicationRule" as const,
      name: ruleName,
      description: hosts.map((h) => `${h.host}: ${h.usedBy}`).join("; ").slice(0, 1024),
      sourceAddresses: sources,
      protocols: [{ protocolType: "Https", port: 443 }],
      targetFqdns: hosts.map(fqdnOf),
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
      appRule("inference-hosts", bySource("inference")),
      // GPU node setup, cluster add-ons (Defender for Containers: Log Analytics and
      // *.cloud.defender.microsoft.com) and, only when asked for, azureml-fe's hosts.
      ...(["gpu", "addon", "azureml"] as const).filter((s) => bySource(s).length > 0).map((s) => appRule(`${s}-hosts`, bySource(s))),
    ];
    // One group holds the stack's DNAT, network and application collections: a shared hub
    // policy gets one entry per stack, and Azure never sees two concurrent writes to the policy.
    const group = new network.FirewallPolicyRuleCollectionGroup(
      `${name}-rules`,
      {
        resourceGroupName: policyGroup,
        firewallPolicyName: policyName,
        ruleCollectionGroupName: args.ruleCollectionGroupName,
        priority: cfg.priority,
        ruleCollections: [
          {
            ruleCollectionType: "FirewallPolicyNatRuleCollection",
            name: "router-ingress",
            priority: 100,
            action: { type: "DNAT" },
            rules: args.dnat.ports.map((port) => ({
              ruleType: "NatRule" as const,
              name: `router-${port}`,
              description: "scoring endpoint: the firewall's public IP to the router's internal load balancer",
              ipProtocols: ["TCP"],
              sourceAddresses: ["*"],
              destinationAddresses: [this.publicIp],
              destinationPorts: [String(port)],
              translatedAddress: args.dnat.internalIp,
              translatedPort: String(port),
            })),
          },
          // No empty collection: without network rules there is nothing to allow by IP.
          ...(args.networkRules.length === 0
            ? []
            : [
                {
                  ruleCollectionType: "FirewallPolicyFilterRuleCollection" as const,
                  name: "aks-network",
                  priority: 200,
                  action: { type: "Allow" as const },
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
              ]),
          { ruleCollectionType: "FirewallPolicyFilterRuleCollection", name: "inference-app", priority: 300, action: { type: "Allow" }, rules: appRules },
        ],
      },
      inPolicyGroup,
    );

    if (cfg.kind === "hub" && hubChecked) {
      const privateIp = cfg.privateIp;
      this.privateIp = hubChecked.apply(() => privateIp);
      this.egressReady = [group];
    } else {
      const firewall = new network.AzureFirewall(
        name,
        {
          resourceGroupName: args.resourceGroupName!,
          location: args.location,
          tags: args.tags,
          sku: { name: "AZFW_VNet", tier: args.tier ?? "Standard" },
          zones: args.zones.length > 0 ? args.zones : undefined,
          firewallPolicy: { id: policy!.id },
          // Only the first IP configuration names the subnet; the others add public IPs (SNAT ports).
          ipConfigurations: pips.map((pip, i) => ({ name: `ipconfig-${i}`, subnet: i === 0 ? { id: args.subnetId! } : undefined, publicIPAddress: { id: pip.id } })),
        },
        // The policy is attached at creation; wait for its rules so the firewall never runs with half of them.
        { ...inPolicyGroup, dependsOn: [group] },
      );
      this.privateIp = firewall.ipConfigurations.apply((c) => {
        const ip = c?.[0]?.privateIPAddress;
        if (!ip) throw new Error(`Azure Firewall '${name}' reported no private IP`);
        if (args.expectedPrivateIp && ip !== args.expectedPrivateIp) {
          throw new Error(`Azure Firewall '${name}' took private IP ${ip}, but the VNet's DNS servers point at ${args.expectedPrivateIp} (the 4th address of AzureFirewallSubnet): is another device in that subnet?`);
        }
        return ip;
      });

      // Our routes are separate resources: AKS (kubenet) writes pod routes into the same table,
      // and an existing (CNI) table is the network team's.
      const defaultRoute = new network.Route(
        `${name}-default`,
        {
          resourceGroupName: args.routeTable!.resourceGroupName,
          routeTableName: args.routeTable!.name,
          routeName: args.defaultRouteName,
          addressPrefix: "0.0.0.0/0",
          nextHopType: "VirtualAppliance",
          nextHopIpAddress: this.privateIp,
        },
        { parent: this, provider: args.routeTable!.provider },
      );
      // As in Microsoft's tutorial: the firewall's own public IP is reached directly.
      const returnRoute = new network.Route(
        `${name}-internet`,
        {
          resourceGroupName: args.routeTable!.resourceGroupName,
          routeTableName: args.routeTable!.name,
          addressPrefix: this.publicIp.apply((ip) => `${ip || "0.0.0.0"}/32`),
          nextHopType: "Internet",
        },
        { parent: this, provider: args.routeTable!.provider, dependsOn: [defaultRoute] },
      );
      this.egressReady = [group, firewall, defaultRoute, returnRoute];
    }
    this.registerOutputs({ privateIp: this.privateIp, publicIp: this.publicIp, policyId: this.policyId });
  }

  /**
   * Preflight (read-only, during `pulumi preview`): the hub's policy belongs to a firewall with
   * `firewall.privateIp` that owns `firewall.publicIp`. The rule collection group's DNAT rule
   * takes the public IP from this check, so nothing is written to the hub's policy before it passes.
   */
  private checkHub(cfg: Extract<FirewallConfig, { kind: "hub" }>, providers: SubscriptionProviders): pulumi.Output<true> {
    // The firewall and its IPs are read with the policy's subscription: a hub keeps them together.
    const opts = { parent: this, provider: providers.for(cfg.policyId) };
    const ref = parseTopLevelId(cfg.policyId, "firewallPolicies");
    const policy = network.getFirewallPolicyOutput({ resourceGroupName: ref.resourceGroupName, firewallPolicyName: ref.name }, opts);
    return policy.firewalls.apply(async (refs) => {
      const firewalls = await Promise.all(
        (refs ?? []).map(async ({ id }) => {
          const fw = parseTopLevelId(id ?? "", "azureFirewalls");
          const found = await network.getAzureFirewall({ resourceGroupName: fw.resourceGroupName, azureFirewallName: fw.name }, opts);
          const configs = found.ipConfigurations ?? [];
          const publicIps = await Promise.all(
            configs.flatMap((c) => (c.publicIPAddress?.id ? [parseTopLevelId(c.publicIPAddress.id, "publicIPAddresses")] : [])).map(async (pip) => (await network.getPublicIPAddress({ resourceGroupName: pip.resourceGroupName, publicIpAddressName: pip.name }, opts)).ipAddress ?? ""),
          );
          return { id: id ?? "", privateIps: configs.map((c) => c.privateIPAddress), publicIps };
        }),
      );
      const problems = checkHubFirewall({ policyId: cfg.policyId, firewalls }, cfg);
      if (problems.length > 0) throw new PreflightError(problems);
      return true as const;
    });
  }
}
