/**
 * Phase 1 of an environment: the network and its egress, first in Azure ML v1's connectivity
 * chronology. The VNet (created, or the network team's, checked during preview), the egress
 * firewall with the rules for exactly the required hosts, and the endpoint clients call.
 */
import * as pulumi from "@pulumi/pulumi";
import { endpointDnsLabel, scoringHost, tlsEnabled } from "../../core/config";
import { aksNetworkRules, requiredHostsFor, type RequiredHost } from "../../core/azure/requiredHosts";
import { Endpoint } from "../dns";
import { Firewall } from "../firewall";
import { Network, SubscriptionProviders } from "../network";
import type { EnvironmentContext } from "./context";

export interface NetworkPhase {
  net: Network;
  /** With egress 'firewall'. */
  firewall?: Firewall;
  endpoint: Endpoint;
  /** The hosts the cluster must resolve and reach (the firewall allows exactly these). */
  hosts: RequiredHost[];
  /** The name clients call: the custom domain or an explicit label as configured; the default tenant-scoped label only as Azure assigned it (with its hash). */
  host: pulumi.Output<string>;
}

export function createNetworkAndEgress(ctx: EnvironmentContext): NetworkPhase {
  const { cfg, child, at, location, tags } = ctx;
  const resourceGroupName = ctx.group.name;
  const defaultRouteName = `${cfg.clusterName}-to-firewall`;
  // The network team's subnet, route table and firewall policy may be in other subscriptions.
  const networkProviders = new SubscriptionProviders(child, () => at());
  const net = new Network(
    child("network"),
    {
      resourceGroupName,
      location,
      plugin: cfg.network.plugin,
      vnetAddressSpace: cfg.network.vnetAddressSpace,
      nodeSubnetPrefix: cfg.network.nodeSubnetPrefix,
      firewallSubnetPrefix: cfg.network.firewallSubnetPrefix,
      podCidr: cfg.network.podCidr,
      serviceCidr: cfg.network.serviceCidr,
      privateDnsZones: cfg.dns.privateZones,
      dnsResolverVnetId: cfg.dns.resolverVnetId,
      subnetId: cfg.network.subnetId,
      firewallSubnetId: cfg.network.firewallSubnetId,
      routeTableId: cfg.network.routeTableId,
      firewall: cfg.firewall,
      internalIp: cfg.endpoint.internalIp,
      defaultRouteName,
      providers: networkProviders,
      tags,
    },
    at("Network"),
  );

  const hosts = requiredHostsFor(cfg);
  const firewall = cfg.firewall
    ? new Firewall(
        child("egress"),
        {
          config: cfg.firewall,
          location,
          ruleCollectionGroupName: `aks-inference-${cfg.clusterName}`,
          hosts,
          networkRules: aksNetworkRules(location),
          sourceAddresses: net.nodeAddressPrefix.apply((p) => [p]),
          // 443 with TLS at the router, else 80 (a plain-HTTP endpoint is DevTest only).
          dnat: { internalIp: cfg.endpoint.internalIp ?? "", ports: [tlsEnabled(cfg) ? 443 : 80] },
          providers: networkProviders,
          resourceGroupName: net.firewallResourceGroupName,
          provider: net.firewallProvider,
          subnetId: net.firewallSubnetId,
          expectedPrivateIp: net.expectedFirewallPrivateIp,
          routeTable: net.routeTable,
          defaultRouteName,
          zones: ctx.profile.zones,
          dnsLabel: endpointDnsLabel(cfg),
          endpointHost: scoringHost(cfg),
          tags,
        },
        at("Firewall"),
      )
    : undefined;

  const endpoint = new Endpoint(
    child("endpoint"),
    {
      resourceGroupName,
      location,
      entry: firewall ? { kind: "firewall", address: firewall.publicIp, publicIp: firewall.publicIpResource } : { kind: "publicIp", dnsLabel: endpointDnsLabel(cfg) },
      customDomain: cfg.endpoint.customDomain,
      dnsZone: cfg.endpoint.dnsZone,
      tags,
    },
    at("Endpoint"),
  );

  const host: pulumi.Output<string> = endpointDnsLabel(cfg)?.scope ? endpoint.fqdn : pulumi.output(scoringHost(cfg));
  return { net, firewall, endpoint, hosts, host };
}
