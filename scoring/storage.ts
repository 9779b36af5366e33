/**
 * How a scoring replica reaches blob storage. On AKS the storage account accepts no keys: the
 * pod's workload identity (the webhook injects its client ID and federated token file) signs in
 * with `DefaultAzureCredential` against the account's blob endpoint. Local mode talks to Azurite
 * with its well-known connection string. The choice is a pure function of the two settings.
 */
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { SCORING_ENV } from "../core/contracts/naming";

export type StorageAccess = { kind: "connectionString"; connectionString: string } | { kind: "workloadIdentity"; accountUrl: string };

/** A connection string (Azurite) wins; else the account URL with the pod's Entra identity. */
export function storageAccess(settings: { connectionString?: string; accountUrl?: string }): StorageAccess {
  if (settings.connectionString) return { kind: "connectionString", connectionString: settings.connectionString };
  if (settings.accountUrl) {
    if (!/^https:\/\/[^/]+\/?$/.test(settings.accountUrl)) throw new Error(`${SCORING_ENV.storageAccountUrl} must be a blob endpoint such as https://<account>.blob.core.windows.net, got '${settings.accountUrl}'`);
    return { kind: "workloadIdentity", accountUrl: settings.accountUrl };
  }
  throw new Error(`set ${SCORING_ENV.storageAccountUrl} (on AKS, with workload identity) or ${SCORING_ENV.storageConnectionString} (local mode)`);
}

export function blobServiceClient(access: StorageAccess): BlobServiceClient {
  return access.kind === "connectionString" ? BlobServiceClient.fromConnectionString(access.connectionString) : new BlobServiceClient(access.accountUrl, new DefaultAzureCredential());
}
