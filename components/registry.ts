/** Azure Container Registry: admin user off, AcrPull for the cluster's kubelet identity. */
import * as pulumi from "@pulumi/pulumi";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import { assignRole } from "./roles";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface RegistryArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  /** Globally unique, 5-50 letters and digits. */
  registryName: string;
  /** Default `Standard`; `Premium` for geo-replication or private endpoints. */
  sku?: "Basic" | "Standard" | "Premium";
  /** Object ID of the kubelet identity that pulls images. */
  kubeletObjectId: pulumi.Input<string>;
  tags: Record<string, string>;
}

export class Registry extends pulumi.ComponentResource {
  readonly registry: containerregistry.Registry;
  readonly loginServer: pulumi.Output<string>;
  readonly id: pulumi.Output<string>;
  readonly acrPull: pulumi.Resource;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Registry"), name, {}, withFormerType(FORMER_TYPES.Registry, opts));
    this.registry = new containerregistry.Registry(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        registryName: args.registryName,
        sku: { name: args.sku ?? "Standard" },
        // Pulls use the kubelet identity, pushes Entra tokens: no shared admin password.
        adminUserEnabled: false,
        // Premium: layers from `<registry>.<region>.data.azurecr.io`, so a firewall allows this
        // registry's data only, not every `*.blob.core.windows.net` (core/azure/requiredHosts.ts).
        dataEndpointEnabled: args.sku === "Premium",
        tags: args.tags,
      },
      { parent: this },
    );
    this.loginServer = this.registry.loginServer;
    this.id = this.registry.id;
    this.acrPull = assignRole(
      `${name}-acrpull`,
      { subscriptionId: args.subscriptionId, role: "acrPull", principalId: args.kubeletObjectId, scope: this.registry.id },
      { parent: this },
    );
    this.registerOutputs({ loginServer: this.loginServer, id: this.id });
  }
}
