/**
 * A block blob uploaded with the deployer's Microsoft Entra identity.
 *
 * The storage account refuses shared keys ("Prevent Shared Key authorization for an Azure
 * Storage account"), and azure-native's `storage.Blob` always signs with the account key (it
 * lists the keys, then uses them: pulumi/pulumi-azure-native#2015, open). So packages and models
 * are uploaded by this dynamic resource instead, with a token from `DefaultAzureCredential`: the
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

/**
 * One Blob service REST call with an Entra token for Azure Storage (the "Put Blob", "Get Blob
 * Properties" and "Delete Blob" operations). Written against the REST API rather than with
 * @azure/storage-blob: three calls are all this needs, and that library was 20 MB of every
 * program's install (the package's budget is 50 MB beyond the Pulumi SDK and providers).
 */
async function blobCall(inputs: Inputs, method: "HEAD" | "PUT" | "DELETE", headers: Record<string, string> = {}, body?: Buffer): Promise<Response> {
  const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
  const { token } = await new DefaultAzureCredential().getToken("https://storage.azure.com/.default");
  return fetch(blobUrl(inputs), { method, headers: { authorization: `Bearer ${token}`, "x-ms-version": "2023-11-03", ...headers }, body });
}

function blobUrl(inputs: Inputs): string {
  return `${inputs.accountUrl.replace(/\/+$/, "")}/${inputs.containerName}/${inputs.blobName.split("/").map(encodeURIComponent).join("/")}`;
}

/** The error a failed call becomes: the operation, the blob, the status and Azure Storage's error code. */
function blobError(what: string, inputs: Inputs, res: Response): Error {
  const code = res.headers.get("x-ms-error-code");
  return Object.assign(new Error(`${what} ${inputs.containerName}/${inputs.blobName} at ${inputs.accountUrl}: ${res.status}${code ? ` ${code}` : ""}`), { statusCode: res.status });
}

// Everything the provider runs is required inside its functions: Pulumi serializes them into
// the dynamic provider's process, where only installed packages can be required.
export const uploadedBlobProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Inputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = IDENTITY_KEYS.filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult> {
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    const deadline = Date.now() + RBAC_PROPAGATION_MS;
    for (;;) {
      const existing = await blobCall(inputs, "HEAD");
      // Content-addressed: a blob that is there already is this content.
      if (existing.ok) break;
      const res = existing.status === 404 ? await blobCall(inputs, "PUT", { "x-ms-blob-type": "BlockBlob", "content-type": "application/octet-stream" }, readFileSync(inputs.file)) : existing;
      if (res.ok) break;
      if (res.status !== 403 || Date.now() > deadline) throw blobError("upload of", inputs, res);
      await new Promise((r) => setTimeout(r, 15_000));
    }
    return { id: blobUrl(inputs), outs: inputs };
  },

  async delete(_id: string, props: Inputs): Promise<void> {
    const res = await blobCall(props, "DELETE", { "x-ms-delete-snapshots": "include" });
    if (!res.ok && res.status !== 404) throw blobError("deletion of", props, res);
  },
};

export class UploadedBlob extends pulumi.dynamic.Resource {
  declare readonly blobName: pulumi.Output<string>;
  declare readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: UploadedBlobArgs, opts?: pulumi.CustomResourceOptions) {
    super(uploadedBlobProvider, name, args, opts, "aks-inference", "UploadedBlob");
  }
}
