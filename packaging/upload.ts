/**
 * Uploads a service's project package and models to blob storage (Azure ML v1's step 4 source),
 * idempotently: content-addressed blob names, skipped when already there. Local mode uploads to
 * Azurite with this; on Azure the stack registers the same blob names as Pulumi resources.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import type { ModelServiceConfig } from "../core/config";
import { BLOB_CONTAINERS, modelBlobPrefix, packageBlobName, type ModelBlobs } from "../core/contracts/naming";
import { MAX_PAYLOAD_BYTES } from "../core/decisions/payloadLimit";
import { scoringEnv, serviceScoringEnv, type ServiceEnvSource } from "../core/contracts/scoringEnv";
import { modelFiles, modelHash, packageProject } from "./project";

export interface UploadedService {
  /** Blob name in the packages container, or "" without a project folder. */
  packageBlob: string;
  models: ModelBlobs[];
}

async function uploadIfMissing(container: ContainerClient, name: string, data: Buffer): Promise<boolean> {
  const blob = container.getBlockBlobClient(name);
  if (await blob.exists()) return false;
  await blob.uploadData(data);
  return true;
}

/** Creates the blob containers that the Storage component creates on Azure (for Azurite). */
export async function createBlobContainers(blob: BlobServiceClient): Promise<void> {
  for (const c of Object.values(BLOB_CONTAINERS)) await blob.getContainerClient(c).createIfNotExists();
}

/** `projectRoot`: what the service's project folder and model paths are relative to (absolute paths are taken as given). */
export async function uploadService(svc: ModelServiceConfig, projectRoot: string, blob: BlobServiceClient): Promise<UploadedService> {
  const containers = { packages: blob.getContainerClient(BLOB_CONTAINERS.packages), models: blob.getContainerClient(BLOB_CONTAINERS.models) };
  let packageBlob = "";
  if (svc.sourceDirectory) {
    const pkg = await packageProject(path.resolve(projectRoot, svc.sourceDirectory));
    packageBlob = packageBlobName(svc.name, pkg.hash);
    await uploadIfMissing(containers.packages, packageBlob, pkg.zip);
  }
  const models = [];
  for (const m of svc.models) {
    const abs = path.resolve(projectRoot, m.path);
    const prefix = modelBlobPrefix(m.name, modelHash(abs));
    for (const f of modelFiles(abs)) await uploadIfMissing(containers.models, `${prefix}${f.rel}`, readFileSync(f.abs));
    models.push({ name: m.name, version: m.version, prefix });
  }
  return { packageBlob, models };
}

/**
 * A replica's environment with Azurite (or any storage reached by connection string): local mode,
 * the image check, the bundle test. `routerLimitBytes`: the router's body limit the service's own
 * is derived from; default Azure ML's 100 MB, the router's own default (the image check has no router).
 */
export function replicaEnv(svc: ServiceEnvSource, uploaded: UploadedService, connectionString: string, routerLimitBytes = MAX_PAYLOAD_BYTES): Record<string, string> {
  return { ...serviceScoringEnv(svc, uploaded, routerLimitBytes), ...scoringEnv({ storage: { connectionString } }) };
}
