/**
 * Name resolution: the scoring endpoint's public IP (the router's own, with its
 * `cloudapp.azure.com` label, or the firewall's that DNATs to the router), the custom domain's
 * record in an Azure DNS zone, and private DNS zones linked to the cluster VNet.
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as dns from "@pulumi/azure-native/dns";
import * as privatedns from "@pulumi/azure-native/privatedns";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface EndpointArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /**
   * Where clients connect. `publicIp`: the stack creates a static public IP with the label
   * `<label>.<region>.cloudapp.azure.com` and the router's public load balancer binds to it.
   * `firewall`: the firewall's public IP, DNATed to the router's internal load balancer (its
   * resource when the stack created it, so DNS can alias it; else only its address).
   */
  entry: { kind: "publicIp"; dnsLabel?: { label: string; scope?: "TenantReuse" } } | { kind: "firewall"; address: pulumi.Input<string>; publicIp?: network.PublicIPAddress };
  /** Custom domain of the scoring endpoint, e.g. `ml.contoso.com`. */
  customDomain?: string;
  /** Azure DNS zone to create the custom domain's A record in; omit to manage DNS yourself. */
  dnsZone?: { resourceGroupName: string; zoneName: string };
  tags: Record<string, string>;
}

/** The scoring endpoint's public address and its names. */
export class Endpoint extends pulumi.ComponentResource {
  /** The public IP clients reach (created here, or the firewall's). */
  readonly publicIp?: network.PublicIPAddress;
  readonly ipAddress: pulumi.Output<string>;
  /** Name of the IP the router's public load balancer binds to (public entry only). */
  readonly ipName?: pulumi.Output<string>;
  /** The resource group the IP lives in (the Service's `azure-load-balancer-resource-group`). */
  readonly resourceGroupName: pulumi.Output<string>;
  /** `<label>[-<tenant hash>].<region>.cloudapp.azure.com`, as Azure assigned it (empty without a label). */
  readonly fqdn: pulumi.Output<string>;

  constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Endpoint"), name, {}, withFormerType(FORMER_TYPES.Endpoint, opts));
    this.resourceGroupName = pulumi.output(args.resourceGroupName);
    if (args.entry.kind === "publicIp") {
      this.publicIp = new network.PublicIPAddress(
        name,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          sku: { name: "Standard", tier: "Regional" },
          publicIPAllocationMethod: "Static",
          publicIPAddressVersion: "IPv4",
          dnsSettings: args.entry.dnsLabel ? { domainNameLabel: args.entry.dnsLabel.label, domainNameLabelScope: args.entry.dnsLabel.scope } : undefined,
          tags: args.tags,
        },
        { parent: this },
      );
      this.ipName = this.publicIp.name;
    } else {
      this.publicIp = args.entry.publicIp;
    }
    this.ipAddress = this.publicIp ? this.publicIp.ipAddress.apply((ip) => ip ?? "") : pulumi.output(args.entry.kind === "firewall" ? args.entry.address : "");
    this.fqdn = this.publicIp ? this.publicIp.dnsSettings.apply((d) => d?.fqdn ?? "") : pulumi.output("");
    if (args.customDomain && args.dnsZone) {
      const relative = args.customDomain.slice(0, -(args.dnsZone.zoneName.length + 1));
      new dns.RecordSet(
        `${name}-custom-domain`,
        {
          resourceGroupName: args.dnsZone.resourceGroupName,
          zoneName: args.dnsZone.zoneName,
          relativeRecordSetName: relative,
          recordType: "A",
          ttl: 300,
          // An alias record follows the IP if it ever changes; a hub firewall's IP is only known by address.
          ...(this.publicIp ? { targetResource: { id: this.publicIp.id } } : { aRecords: [{ ipv4Address: this.ipAddress }] }),
        },
        { parent: this },
      );
    }
    this.registerOutputs({ ipAddress: this.ipAddress, ipName: this.ipName });
  }
}

export interface PrivateDnsArgs {
  resourceGroupName: pulumi.Input<string>;
  /**
   * The VNet the zones are linked to: the one whose Azure-provided DNS answers the cluster's
   * queries (the cluster's VNet, or with custom DNS servers their VNet: dns.resolverVnetId). It may
   * be in another subscription: the link lives with the zone and names the VNet by ID.
   */
  vnetId: pulumi.Input<string>;
  zones: string[];
  records: { zone: string; name: string; type: "A" | "CNAME"; value: string }[];
  tags: Record<string, string>;
}

/** Private DNS zones linked to the cluster VNet (or the resolver's VNet), with records. */
export class PrivateDns extends pulumi.ComponentResource {
  readonly zones: Record<string, privatedns.PrivateZone> = {};

  constructor(name: string, args: PrivateDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("PrivateDns"), name, {}, withFormerType(FORMER_TYPES.PrivateDns, opts));
    for (const zoneName of args.zones) {
      const key = zoneName.replace(/\./g, "-");
      const zone = new privatedns.PrivateZone(`${name}-${key}`, { resourceGroupName: args.resourceGroupName, privateZoneName: zoneName, location: "global", tags: args.tags }, { parent: this });
      new privatedns.VirtualNetworkLink(
        `${name}-${key}-link`,
        { resourceGroupName: args.resourceGroupName, privateZoneName: zone.name, location: "global", registrationEnabled: false, virtualNetwork: { id: args.vnetId }, tags: args.tags },
        { parent: this },
      );
      this.zones[zoneName] = zone;
    }
    for (const r of args.records) {
      const zone = this.zones[r.zone];
      new privatedns.PrivateRecordSet(
        `${name}-${r.zone.replace(/\./g, "-")}-${r.name}-${r.type.toLowerCase()}`,
        {
          resourceGroupName: args.resourceGroupName,
          privateZoneName: zone.name,
          relativeRecordSetName: r.name,
          recordType: r.type,
          ttl: 300,
          ...(r.type === "A" ? { aRecords: [{ ipv4Address: r.value }] } : { cnameRecord: { cname: r.value } }),
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
