/**
 * The storage account: blob containers for models, project packages and collected model data,
 * and table storage; no public blob access and no shared keys. Everything reaches it with a
 * Microsoft Entra identity and a data role on the containers it uses: the deployer uploads
 * packages and models, model pods read them and write collected data with their workload
 * identity ("Prevent Shared Key authorization for an Azure Storage account").
 */
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import type * as authorization from "@pulumi/azure-native/authorization";
import { BLOB_CONTAINERS, SERVICE_TABLE } from "../core/contracts/naming";
import { UploadedBlob } from "./blobUpload";
import { assignRole } from "./roles";
import type { DeployerPrincipalType } from "../core/azure/identity";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export type ContainerKey = keyof typeof BLOB_CONTAINERS;
/** Storage Blob Data Reader or Contributor on one container. */
export type BlobDataAccess = "read" | "write";

export interface StorageArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  /** Globally unique, 3-24 lowercase letters and digits. */
  accountName: string;
  /** Default `Standard_LRS`; prod stacks get `Standard_ZRS`. */
  sku?: "Standard_LRS" | "Standard_ZRS" | "Standard_GRS";
  /** The identity running `pulumi up`: it uploads packages and models. */
  deployer: { objectId: pulumi.Input<string>; principalType: pulumi.Input<DeployerPrincipalType> };
  tags: Record<string, string>;
}

export class Storage extends pulumi.ComponentResource {
  private readonly name: string;
  private readonly subscriptionId: pulumi.Input<string>;
  readonly account: storage.StorageAccount;
  readonly accountName: pulumi.Output<string>;
  /** `https://<account>.blob.core.windows.net`: what pods and uploads reach with Entra tokens. */
  readonly blobEndpoint: pulumi.Output<string>;
  readonly containers: Record<ContainerKey, storage.BlobContainer>;
  /** The deployer's write access to the containers it uploads to (uploads wait for it). */
  private readonly uploadGrants: authorization.RoleAssignment[];
  private readonly blobs = new Map<string, UploadedBlob>();

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("Storage"), name, {}, withFormerType(FORMER_TYPES.Storage, opts));
    this.name = name;
    this.subscriptionId = args.subscriptionId;
    this.account = new storage.StorageAccount(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName: args.accountName,
        kind: "StorageV2",
        sku: { name: args.sku ?? "Standard_LRS" },
        allowBlobPublicAccess: false,
        // Entra only: an account key would be one secret that opens every container.
        allowSharedKeyAccess: false,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        tags: args.tags,
      },
      { parent: this },
    );
    this.accountName = this.account.name;
    this.blobEndpoint = pulumi.interpolate`https://${this.account.name}.blob.core.windows.net`;
    const container = (key: ContainerKey) =>
      new storage.BlobContainer(
        `${name}-${BLOB_CONTAINERS[key]}`,
        { resourceGroupName: args.resourceGroupName, accountName: this.account.name, containerName: BLOB_CONTAINERS[key], publicAccess: "None" },
        { parent: this },
      );
    this.containers = { models: container("models"), packages: container("packages"), modelData: container("modelData") };
    new storage.Table(`${name}-${SERVICE_TABLE}`, { resourceGroupName: args.resourceGroupName, accountName: this.account.name, tableName: SERVICE_TABLE }, { parent: this });
    this.uploadGrants = this.grantBlobData(`${name}-deployer`, args.deployer.objectId, { packages: "write", models: "write" }, args.deployer.principalType);
    this.registerOutputs({ accountName: this.accountName, blobEndpoint: this.blobEndpoint });
  }

  /**
   * Storage Blob Data Reader (`read`) or Contributor (`write`) for a principal, each scoped to
   * one container: nothing account-wide.
   */
  grantBlobData(
    name: string,
    principalId: pulumi.Input<string>,
    access: Partial<Record<ContainerKey, BlobDataAccess>>,
    principalType: pulumi.Input<DeployerPrincipalType> = "ServicePrincipal",
  ): authorization.RoleAssignment[] {
    return (Object.entries(access) as [ContainerKey, BlobDataAccess][]).map(([key, level]) =>
      assignRole(
        `${name}-${BLOB_CONTAINERS[key]}-${level}`,
        {
          subscriptionId: this.subscriptionId,
          role: level === "write" ? "storageBlobDataContributor" : "storageBlobDataReader",
          principalId,
          scope: this.containers[key].id,
          principalType,
        },
        { parent: this },
      ),
    );
  }

  /**
   * A block blob uploaded from a local file, created once per blob name: blob names are
   * content-addressed, so services sharing a model share its blob (and removing one service
   * never deletes what another still uses).
   */
  blob(container: ContainerKey, blobName: string, file: pulumi.Input<string>): UploadedBlob {
    const key = `${BLOB_CONTAINERS[container]}/${blobName}`;
    let blob = this.blobs.get(key);
    if (!blob) {
      blob = new UploadedBlob(
        `${this.name}-${key.replace(/[^A-Za-z0-9.-]/g, "-")}`,
        { accountUrl: this.blobEndpoint, containerName: this.containers[container].name, blobName, file },
        { parent: this, dependsOn: this.uploadGrants },
      );
      this.blobs.set(key, blob);
    }
    return blob;
  }
}
