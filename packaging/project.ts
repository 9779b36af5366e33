/**
 * The seed's deployment steps 1-2, pure and deterministic: the project folder zipped honoring
 * `.amlignore` (else `.gitignore`), its content hash, the environment hash that keys the
 * environment image, and model content hashes. Same inputs, same hashes, on any machine.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import ignore from "ignore";
import * as yazl from "yazl";

/** Files of the project folder to package, relative, sorted, with `/` separators. */
export function projectFiles(dir: string): string[] {
  const amlignore = path.join(dir, ".amlignore");
  const gitignore = path.join(dir, ".gitignore");
  // The seed: .amlignore when present, else .gitignore; never both.
  const rulesFile = existsSync(amlignore) ? amlignore : existsSync(gitignore) ? gitignore : undefined;
  const ig = ignore().add(rulesFile ? readFileSync(rulesFile, "utf8") : "");
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name === ".git" || entry.name === "node_modules") continue;
      if (entry.isDirectory()) {
        if (!ig.ignores(`${relPath}/`)) walk(relPath);
      } else if (entry.isFile() && !ig.ignores(relPath)) out.push(relPath);
    }
  };
  walk("");
  return out.sort();
}

/** SHA-256 over (name, content hash) pairs: independent of timestamps and zip encoding. */
function hashEntries(entries: readonly { rel: string; abs: string }[]): string {
  const h = createHash("sha256");
  for (const f of entries) {
    h.update(f.rel).update("\0");
    h.update(createHash("sha256").update(readFileSync(f.abs)).digest()).update("\0");
  }
  return h.digest("hex");
}

/** Hash of `files` (relative to `dir`) by name and content. */
export function hashFiles(dir: string, files: string[]): string {
  return hashEntries(files.map((rel) => ({ rel, abs: path.join(dir, rel) })));
}

export interface ProjectPackage {
  hash: string;
  files: string[];
  zip: Buffer;
}

/** Fixed timestamp: the zip's bytes depend only on names and contents. */
const EPOCH = new Date("1980-01-01T00:00:00Z");

export async function packageProject(dir: string): Promise<ProjectPackage> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`project folder '${dir}' does not exist`);
  const files = projectFiles(dir);
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(readFileSync(path.join(dir, f)), f, { mtime: EPOCH, mode: 0o100644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return { hash: hashFiles(dir, files).slice(0, 16), files, zip: Buffer.concat(chunks) };
}

/**
 * Files of a model path as Azure ML registers them: a file under its own name, a folder with its
 * own name as the first path segment (`<folder>/<files below it>`), so that a script written for
 * `os.path.join(AZUREML_MODEL_DIR, "<folder>", ...)` finds them where Azure ML put them.
 */
export function modelFiles(modelPath: string): { rel: string; abs: string }[] {
  const base = path.basename(path.resolve(modelPath));
  if (statSync(modelPath).isFile()) return [{ rel: base, abs: modelPath }];
  const out: { rel: string; abs: string }[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(modelPath, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push({ rel: `${base}/${r}`, abs: path.join(modelPath, r) });
    }
  };
  walk("");
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

/** Content hash of a model file or folder: its files' names (as laid out) and contents. */
export function modelHash(modelPath: string): string {
  return hashEntries(modelFiles(modelPath)).slice(0, 16);
}

export interface EnvironmentSpec {
  /** Base image of the scoring image. */
  baseImage: string;
  /** Dockerfile contents the image is built with. */
  dockerfile: string;
  /** Dependency manifest (package.json) contents, if any. */
  dependencies?: string;
  /** Lock file contents next to the manifest, if any. */
  lock?: string;
}

/**
 * The seed's environment hash: what defines the image (base image, Dockerfile, dependency
 * manifest and lock). It tags the image, so an unchanged environment is never rebuilt and
 * services with the same environment share one image.
 */
export function environmentHash(spec: EnvironmentSpec): string {
  const h = createHash("sha256");
  for (const part of [spec.baseImage, spec.dockerfile, spec.dependencies ?? "", spec.lock ?? ""]) h.update(part).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Default base of environment images: an MCR Node image, as the seed's images come from MCR. */
export const DEFAULT_SCORING_BASE_IMAGE = "mcr.microsoft.com/azurelinux/base/nodejs:20";
/** The project's scoring Dockerfile, used unless a service brings its own. */
export const SCORING_DOCKERFILE = "scoring/Dockerfile";

export interface ServiceEnvironment {
  baseImage?: string;
  dockerfile?: string;
  dependencies?: string;
}

/** Files of this repository that end up in every environment image (the scoring server). */
const SERVER_SOURCES = ["scoring", "core"];
/**
 * Files both image builds depend on beyond their source folders and Dockerfile: the lock file
 * (`npm ci` in the build stage) and the bundler settings. A change to either is a new image.
 */
export const IMAGE_BUILD_FILES = ["package-lock.json", "scripts/bundle.ts"];

/**
 * The environment key of a service: its environment hash, plus the scoring server's own
 * sources (a new server version is a new image). Paths are relative to `repoRoot`.
 */
export function environmentKey(env: ServiceEnvironment, repoRoot: string): { hash: string; spec: EnvironmentSpec } {
  const read = (rel: string) => readFileSync(path.join(repoRoot, rel), "utf8");
  const dependencies = env.dependencies ? read(env.dependencies) : undefined;
  const lockPath = env.dependencies ? path.join(path.dirname(env.dependencies), "package-lock.json") : undefined;
  const spec: EnvironmentSpec = {
    baseImage: env.baseImage ?? DEFAULT_SCORING_BASE_IMAGE,
    dockerfile: read(env.dockerfile ?? SCORING_DOCKERFILE),
    dependencies,
    lock: lockPath && existsSync(path.join(repoRoot, lockPath)) ? read(lockPath) : undefined,
  };
  const server = [...SERVER_SOURCES.map((d) => hashFiles(path.join(repoRoot, d), projectFiles(path.join(repoRoot, d)))), hashFiles(repoRoot, IMAGE_BUILD_FILES)].join("");
  return { hash: environmentHash({ ...spec, dockerfile: `${spec.dockerfile}\0${server}` }), spec };
}
