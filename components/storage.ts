/**
 * The storage account: blob containers for models, project packages and collected model data,
 * and table storage; no public blob access.
 */
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { BLOB_CONTAINERS, SERVICE_TABLE } from "../core/naming";

export interface StorageArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** Globally unique, 3-24 lowercase letters and digits. */
  accountName: string;
  /** Default `Standard_LRS`; prod stacks get `Standard_ZRS`. */
  sku?: "Standard_LRS" | "Standard_ZRS" | "Standard_GRS";
  tags: Record<string, string>;
}

export class Storage extends pulumi.ComponentResource {
  private readonly name: string;
  readonly account: storage.StorageAccount;
  readonly accountName: pulumi.Output<string>;
  /** Connection string for the blob/table clients of router and model pods (secret). */
  readonly connectionString: pulumi.Output<string>;
  readonly containers: Record<keyof typeof BLOB_CONTAINERS, storage.BlobContainer>;
  private readonly blobs = new Map<string, storage.Blob>();
  private readonly resourceGroupName: pulumi.Input<string>;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("aks-inference:storage:Storage", name, {}, opts);
    this.resourceGroupName = args.resourceGroupName;
    this.name = name;
    this.account = new storage.StorageAccount(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName: args.accountName,
        kind: "StorageV2",
        sku: { name: args.sku ?? "Standard_LRS" },
        allowBlobPublicAccess: false,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        tags: args.tags,
      },
      { parent: this },
    );
    this.accountName = this.account.name;
    const container = (key: keyof typeof BLOB_CONTAINERS) =>
      new storage.BlobContainer(
        `${name}-${BLOB_CONTAINERS[key]}`,
        { resourceGroupName: args.resourceGroupName, accountName: this.account.name, containerName: BLOB_CONTAINERS[key], publicAccess: "None" },
        { parent: this },
      );
    this.containers = { models: container("models"), packages: container("packages"), modelData: container("modelData") };
    new storage.Table(`${name}-${SERVICE_TABLE}`, { resourceGroupName: args.resourceGroupName, accountName: this.account.name, tableName: SERVICE_TABLE }, { parent: this });

    const keys = storage.listStorageAccountKeysOutput({ resourceGroupName: args.resourceGroupName, accountName: this.account.name }, { parent: this });
    this.connectionString = pulumi.secret(
      pulumi.all([this.account.name, keys.keys]).apply(([account, k]) => {
        const key = k?.[0]?.value;
        if (!key) throw new Error(`storage account '${account}' returned no key`);
        return `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${key};EndpointSuffix=core.windows.net`;
      }),
    );
    this.registerOutputs({ accountName: this.accountName, connectionString: this.connectionString });
  }

  /**
   * A block blob uploaded from a local file or archive, created once per blob name: blob names
   * are content-addressed, so services sharing a model share its blob (and removing one
   * service never deletes what another still uses).
   */
  blob(container: keyof typeof BLOB_CONTAINERS, blobName: string, source: pulumi.asset.Asset | pulumi.asset.Archive): storage.Blob {
    const key = `${BLOB_CONTAINERS[container]}/${blobName}`;
    let blob = this.blobs.get(key);
    if (!blob) {
      blob = new storage.Blob(
        `${this.name}-${key.replace(/[^A-Za-z0-9.-]/g, "-")}`,
        { resourceGroupName: this.resourceGroupName, accountName: this.account.name, containerName: this.containers[container].name, blobName, type: "Block", source },
        { parent: this },
      );
      this.blobs.set(key, blob);
    }
    return blob;
  }
}
