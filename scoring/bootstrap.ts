/**
 * Azure ML v1's deployment steps 4-5 inside the replica: download the project package and the
 * models from blob storage into the work dir and unpack them, before `init()` runs.
 */
import { createWriteStream, mkdirSync } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import * as yauzl from "yauzl";
import { BLOB_CONTAINERS, type ModelBlobs } from "../core/contracts/naming";
import type { ModelContext } from "./handlers";
import { blobServiceClient, type StorageAccess } from "./storage";

export interface BootstrapInput {
  /** A connection string (local mode, Azurite), or the account URL with the pod's workload identity. */
  storage: StorageAccess;
  /** Blob in the packages container; "" when the service has no project folder. */
  packageBlob: string;
  models: ModelBlobs[];
  workDir: string;
}

export interface Bootstrapped extends ModelContext {
  /** Where the package was unpacked (the entry script's folder). */
  projectDir: string;
}

/** Unzips into `dir`, refusing entries that would land outside it (zip-slip). */
export async function unzip(zip: Buffer, dir: string): Promise<string[]> {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))));
  const root = path.resolve(dir);
  const files: string[] = [];
  await new Promise<void>((resolve, reject) => {
    zipfile.on("entry", (entry: yauzl.Entry) => {
      const target = path.resolve(root, entry.fileName);
      if (!target.startsWith(root + path.sep)) return reject(new Error(`package entry '${entry.fileName}' escapes the project folder`));
      if (entry.fileName.endsWith("/")) {
        mkdirSync(target, { recursive: true });
        return zipfile.readEntry();
      }
      mkdirSync(path.dirname(target), { recursive: true });
      zipfile.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        pipeline(stream, createWriteStream(target)).then(() => {
          files.push(entry.fileName);
          zipfile.readEntry();
        }, reject);
      });
    });
    zipfile.on("end", () => resolve());
    zipfile.on("error", reject);
    zipfile.readEntry();
  });
  return files;
}

/** Folder of Azure ML's model layout below the work dir: `azureml-models/<name>/<version>/`. */
export const MODELS_ROOT = "azureml-models";

/**
 * `AZUREML_MODEL_DIR` as Azure ML sets it: the model's version folder when the service has one
 * model (scripts join it with the file name), the `azureml-models` root when it has several
 * (scripts join `<name>/<version>/<file>`).
 */
export function azuremlModelDir(workDir: string, models: readonly Pick<ModelBlobs, "name" | "version">[]): string {
  const root = path.join(workDir, MODELS_ROOT);
  return models.length === 1 ? path.join(root, models[0].name, String(models[0].version)) : root;
}

export async function bootstrap(input: BootstrapInput): Promise<Bootstrapped> {
  const service = blobServiceClient(input.storage);
  const projectDir = path.join(input.workDir, "project");
  mkdirSync(projectDir, { recursive: true });
  mkdirSync(path.join(input.workDir, MODELS_ROOT), { recursive: true });
  if (input.packageBlob) {
    const zip = await service.getContainerClient(BLOB_CONTAINERS.packages).getBlobClient(input.packageBlob).downloadToBuffer();
    await unzip(zip, projectDir);
  }
  const models: Record<string, string> = {};
  const container = service.getContainerClient(BLOB_CONTAINERS.models);
  for (const m of input.models) {
    const target = path.join(input.workDir, MODELS_ROOT, m.name, String(m.version));
    let first: string | undefined;
    for await (const blob of container.listBlobsFlat({ prefix: m.prefix })) {
      const rel = blob.name.slice(m.prefix.length);
      const dest = path.resolve(target, rel);
      if (!dest.startsWith(path.resolve(target) + path.sep)) throw new Error(`model blob '${blob.name}' escapes the model folder`);
      mkdirSync(path.dirname(dest), { recursive: true });
      await container.getBlobClient(blob.name).downloadToFile(dest);
      first ??= rel;
    }
    if (first === undefined) throw new Error(`model '${m.name}' has no files under ${BLOB_CONTAINERS.models}/${m.prefix}`);
    // The model's file, or its folder: the first path segment below the version folder.
    models[m.name] = path.join(target, first.split("/")[0]);
  }
  return { projectDir, modelDir: azuremlModelDir(input.workDir, input.models), models };
}
