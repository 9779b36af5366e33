/**
 * Name resolution: the router's static public IP with its `cloudapp.azure.com` label, the
 * custom domain's record in an Azure DNS zone, and private DNS zones linked to the cluster VNet.
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as dns from "@pulumi/azure-native/dns";
import * as privatedns from "@pulumi/azure-native/privatedns";

export interface EndpointArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** DNS label: `<label>.<region>.cloudapp.azure.com`. */
  dnsLabel: string;
  /** Custom domain of the scoring endpoint, e.g. `ml.contoso.com`. */
  customDomain?: string;
  /** Azure DNS zone to create the custom domain's A record in; omit to manage DNS yourself. */
  dnsZone?: { resourceGroupName: string; zoneName: string };
  tags: Record<string, string>;
}

/** The scoring endpoint's address: the LoadBalancer Service of the router binds to this IP. */
export class Endpoint extends pulumi.ComponentResource {
  readonly publicIp: network.PublicIPAddress;
  readonly ipAddress: pulumi.Output<string>;
  readonly ipName: pulumi.Output<string>;
  /** The resource group the IP lives in (the Service's `azure-load-balancer-resource-group`). */
  readonly resourceGroupName: pulumi.Output<string>;
  /** `<label>.<region>.cloudapp.azure.com`, as Azure assigned it. */
  readonly fqdn: pulumi.Output<string>;

  constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("aks-inference:dns:Endpoint", name, {}, opts);
    this.publicIp = new network.PublicIPAddress(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: "Standard", tier: "Regional" },
        publicIPAllocationMethod: "Static",
        publicIPAddressVersion: "IPv4",
        dnsSettings: { domainNameLabel: args.dnsLabel },
        tags: args.tags,
      },
      { parent: this },
    );
    this.ipAddress = this.publicIp.ipAddress.apply((ip) => ip ?? "");
    this.ipName = this.publicIp.name;
    this.resourceGroupName = pulumi.output(args.resourceGroupName);
    this.fqdn = this.publicIp.dnsSettings.apply((d) => d?.fqdn ?? "");
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
          // An alias record follows the IP if it ever changes.
          targetResource: { id: this.publicIp.id },
        },
        { parent: this },
      );
    }
    this.registerOutputs({ ipAddress: this.ipAddress, ipName: this.ipName });
  }
}

export interface PrivateDnsArgs {
  resourceGroupName: pulumi.Input<string>;
  vnetId: pulumi.Input<string>;
  zones: string[];
  records: { zone: string; name: string; type: "A" | "CNAME"; value: string }[];
  tags: Record<string, string>;
}

/** Private DNS zones linked to the cluster VNet, with records. */
export class PrivateDns extends pulumi.ComponentResource {
  readonly zones: Record<string, privatedns.PrivateZone> = {};

  constructor(name: string, args: PrivateDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("aks-inference:dns:PrivateDns", name, {}, opts);
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
