/**
 * A block blob uploaded with the deployer's Microsoft Entra identity.
 *
 * The storage account refuses shared keys ("Prevent Shared Key authorization for an Azure
 * Storage account"), and azure-native's `storage.Blob` always signs with the account key (it
 * lists the keys, then uses them: pulumi/pulumi-azure-native#2015, open). So packages and models
 * are uploaded by this dynamic resource instead, authenticated by `DefaultAzureCredential`: the
 * `az login` session locally, the workflow's federated credential in CI (azure/login). The
 * deployer is granted Storage Blob Data Contributor on the target containers by the stack.
 *
 * Blob names are content-addressed, so a blob that exists already is left as it is, and only
 * the account, container or name make a change (the local file path differs between machines).
 */
import * as pulumi from "@pulumi/pulumi";

export interface UploadedBlobArgs {
  /** `https://<account>.blob.core.windows.net` */
  accountUrl: pulumi.Input<string>;
  containerName: pulumi.Input<string>;
  blobName: pulumi.Input<string>;
  /** Local file with the blob's content (read when the blob is created). */
  file: pulumi.Input<string>;
}

interface Inputs {
  accountUrl: string;
  containerName: string;
  blobName: string;
  file: string;
}

/** Inputs whose change means another blob; `file` is only where the content comes from. */
const IDENTITY_KEYS = ["accountUrl", "containerName", "blobName"] as const;

/**
 * Role assignments take minutes to reach the storage data plane: a fresh grant answers 403
 * (AuthorizationPermissionMismatch) at first, so uploads retry for up to ten minutes.
 */
const RBAC_PROPAGATION_MS = 10 * 60_000;

// Everything the provider runs is required inside its functions: Pulumi serializes them into
// the dynamic provider's process, where only installed packages can be required.
export const uploadedBlobProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Inputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = IDENTITY_KEYS.filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult> {
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    const { BlobServiceClient } = require("@azure/storage-blob") as typeof import("@azure/storage-blob");
    const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
    const blob = new BlobServiceClient(inputs.accountUrl, new DefaultAzureCredential()).getContainerClient(inputs.containerName).getBlockBlobClient(inputs.blobName);
    const deadline = Date.now() + RBAC_PROPAGATION_MS;
    for (;;) {
      try {
        if (!(await blob.exists())) await blob.uploadData(readFileSync(inputs.file));
        break;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 403 || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 15_000));
      }
    }
    return { id: blob.url, outs: inputs };
  },

  async delete(_id: string, props: Inputs): Promise<void> {
    const { BlobServiceClient } = require("@azure/storage-blob") as typeof import("@azure/storage-blob");
    const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
    await new BlobServiceClient(props.accountUrl, new DefaultAzureCredential()).getContainerClient(props.containerName).deleteBlob(props.blobName, { deleteSnapshots: "include" }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
  },
};

export class UploadedBlob extends pulumi.dynamic.Resource {
  declare readonly blobName: pulumi.Output<string>;
  declare readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: UploadedBlobArgs, opts?: pulumi.CustomResourceOptions) {
    super(uploadedBlobProvider, name, args, opts, "aks-inference", "UploadedBlob");
  }
}
