/**
 * Azure ML v1's deployment steps 1-2, pure and deterministic: the project folder zipped honoring
 * `.amlignore` (else `.gitignore`), its content hash, the environment hash that keys the
 * environment image, and model content hashes. Same inputs, same hashes, on any machine.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import ignore from "ignore";
import * as yazl from "yazl";
import { condaPythonVersion, isPythonEntryScript, versionsOf, type ModelServiceConfig } from "../core/config";
import { PACKAGE_ROOT } from "./packageRoot";

/** Files of the project folder to package, relative, sorted, with `/` separators. */
export function projectFiles(dir: string): string[] {
  const amlignore = path.join(dir, ".amlignore");
  const gitignore = path.join(dir, ".gitignore");
  // Azure ML v1: .amlignore when present, else .gitignore; never both.
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
  /** Base image of the environment image. */
  baseImage: string;
  /** Dockerfile contents the image is built with. */
  dockerfile: string;
  /** Other build arguments that change what is installed (Python version, dependency file paths). */
  args?: Record<string, string>;
  /** Contents of the dependency files the build installs: package.json and its lock, or the conda / pip file. */
  files?: string[];
}

/**
 * The environment hash: what defines the image (base image, Dockerfile, build arguments,
 * dependency files). It tags the image, so an unchanged environment is never rebuilt and
 * services with the same environment share one image.
 */
export function environmentHash(spec: EnvironmentSpec): string {
  const h = createHash("sha256");
  const args = Object.entries(spec.args ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  for (const part of [spec.baseImage, spec.dockerfile, ...args, "\0files", ...(spec.files ?? [])]) h.update(part).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * Default base of JavaScript environment images: an MCR Node image, Node.js 24 LTS on Azure Linux
 * 3.0 (tag `24` as listed at mcr.microsoft.com/en-us/artifact/mar/azurelinux/base/nodejs/tags).
 */
export const DEFAULT_SCORING_BASE_IMAGE = "mcr.microsoft.com/azurelinux/base/nodejs:24";
/**
 * Default bases of Python environment images: Azure ML's own base images on MCR (Ubuntu 22.04
 * with conda), the ones Azure ML v1 environments were built on; CUDA 11.8 + cuDNN 8 for GPU
 * services. Pin a dated tag or digest with `environment.baseImage` where reproducible builds matter.
 */
export const PYTHON_BASE_IMAGES = {
  cpu: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
  gpu: "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04",
} as const;
/**
 * The CUDA variant of JavaScript environment images (gpuCores > 0). The runtime base is NVIDIA's
 * CUDA 12 runtime with cuDNN 9 — what onnxruntime-node's CUDA 12 execution provider loads — as
 * Microsoft mirrors nvcr.io on MCR (`mcr.microsoft.com/mirror/nvcr/`; this tag is one public
 * Dockerfiles build on; not pulled here). It has no Node.js: the build stage runs on the same
 * Node image as Python environments (the official Node.js build, which runs on its glibc) and
 * copies its binary over. `environment.baseImage` replaces the CUDA runtime base.
 */
export const CUDA_SCORING_IMAGES = {
  runtime: "mcr.microsoft.com/mirror/nvcr/nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04",
  /** Node.js 24 LTS, the official build (tag `24`: github.com/devcontainers/images, src/javascript-node/README.md). */
  build: "mcr.microsoft.com/devcontainers/javascript-node:24",
  /** onnxruntime-node's install option for its CUDA execution provider (script/install.js). */
  onnxruntimeInstall: "cuda12",
} as const;
/** Python version of an environment whose conda file pins none and whose config names none. */
export const DEFAULT_PYTHON_VERSION = "3.11";
/** The package's scoring Dockerfiles (relative to the package root), used unless a service brings its own. */
export const SCORING_DOCKERFILE = "scoring/Dockerfile";
export const PYTHON_SCORING_DOCKERFILE = "scoring/python.Dockerfile";

/** What of a service decides its environment image. */
export type EnvironmentInput = Pick<ModelServiceConfig, "environment" | "entryScript" | "gpuCores">;

/** Files of this package that end up in every environment image (the scoring server). */
const SERVER_SOURCES = ["scoring", "core"];
/**
 * Files both image builds depend on beyond their source folders and Dockerfile: the images'
 * dependency manifest and its lock (`npm ci` in the build stage) and the bundler settings. A
 * change to any of them is a new image.
 */
export const IMAGE_BUILD_FILES = ["images/package.json", "images/package-lock.json", "scripts/bundle.ts"];

/**
 * The named build context that holds a service's dependency file (conda, pip requirements or
 * package.json): the file's own folder, so that nothing else of the program's folder is part of
 * the build. The Dockerfiles copy `--from=environment`.
 */
export const ENVIRONMENT_CONTEXT = "environment";

export interface EnvironmentBuild {
  /** Image tag: the environment hash plus the scoring server's own sources. */
  hash: string;
  /** Absolute path of the Dockerfile: the package's own, or the service's. */
  dockerfile: string;
  /** The Dockerfile as the package or the config names it (`scoring/Dockerfile`): the same wherever the package is installed. */
  dockerfileName: string;
  buildArgs: Record<string, string>;
  /** Named build contexts by name (absolute folders); the main context is the package root. */
  contexts: Record<string, string>;
  spec: EnvironmentSpec;
}

/** The Python version of a Python environment: config, else the conda file's pin, else the default. */
function pythonVersion(svc: EnvironmentInput, conda: string | undefined): string {
  const pinned = conda === undefined ? undefined : condaPythonVersion(conda);
  const configured = svc.environment.pythonVersion;
  if (configured && pinned && !pinned.startsWith(configured) && !configured.startsWith(pinned)) {
    throw new Error(`environment.pythonVersion '${configured}' disagrees with python=${pinned} in ${svc.environment.condaFile}; set one of them`);
  }
  return configured ?? pinned ?? DEFAULT_PYTHON_VERSION;
}

/** Hash of the scoring server's own sources, lock file and bundler settings (in `packageRoot`): part of every environment key. */
export function serverSourcesHash(packageRoot = PACKAGE_ROOT): string {
  return [...SERVER_SOURCES.map((d) => hashFiles(path.join(packageRoot, d), projectFiles(path.join(packageRoot, d)))), hashFiles(packageRoot, IMAGE_BUILD_FILES)].join("");
}

/**
 * How a service's environment image is built and tagged: Python entry scripts on an Azure ML
 * base with their conda or pip environment, JavaScript ones on a Node image with their
 * package.json. The tag covers the scoring server's own sources too (a new server version is a
 * new image); the service's project folder is not part of it (replicas download it at start).
 * The service's files (dependency file, own Dockerfile) are paths relative to `projectRoot`, or
 * absolute; the server's Dockerfiles and sources are the package's own (`packageRoot`).
 * `server`: serverSourcesHash(packageRoot), passed in by callers that key many services at once.
 */
export function environmentKey(svc: EnvironmentInput, projectRoot: string, packageRoot = PACKAGE_ROOT, server = serverSourcesHash(packageRoot)): EnvironmentBuild {
  const env = svc.environment;
  const inProject = (rel: string) => path.resolve(projectRoot, rel);
  const read = (abs: string) => readFileSync(abs, "utf8");
  const python = isPythonEntryScript(svc.entryScript);
  const dockerfileName = env.dockerfile ?? (python ? PYTHON_SCORING_DOCKERFILE : SCORING_DOCKERFILE);
  const dockerfile = env.dockerfile ? inProject(env.dockerfile) : path.join(packageRoot, dockerfileName);
  const depFile = python ? (env.condaFile ?? env.pipRequirements) : env.dependencies;
  // Without a dependency file the Dockerfile's folder stands in as the context (its COPY falls
  // back to the Dockerfile itself, an argument left empty installs nothing).
  const contexts = { [ENVIRONMENT_CONTEXT]: depFile ? path.dirname(inProject(depFile)) : path.dirname(dockerfile) };
  const depName = depFile ? path.basename(depFile) : undefined;
  let buildArgs: Record<string, string>;
  let files: string[];
  if (python) {
    const deps = depFile === undefined ? undefined : read(inProject(depFile));
    buildArgs = {
      PYTHON_BASE_IMAGE: env.baseImage ?? PYTHON_BASE_IMAGES[svc.gpuCores > 0 ? "gpu" : "cpu"],
      PYTHON_VERSION: pythonVersion(svc, env.condaFile === undefined ? undefined : deps),
      ...(env.condaFile ? { CONDA_FILE: depName! } : {}),
      ...(env.pipRequirements ? { PIP_REQUIREMENTS: depName! } : {}),
    };
    files = deps === undefined ? [] : [deps];
  } else {
    const lockPath = depFile ? path.join(path.dirname(inProject(depFile)), "package-lock.json") : undefined;
    const deps: Record<string, string> = depName ? { DEPENDENCIES: depName } : {};
    buildArgs =
      svc.gpuCores > 0
        ? {
            BASE_IMAGE: CUDA_SCORING_IMAGES.build,
            RUNTIME_BASE_IMAGE: env.baseImage ?? CUDA_SCORING_IMAGES.runtime,
            COPY_NODE: "true",
            ONNXRUNTIME_NODE_INSTALL: CUDA_SCORING_IMAGES.onnxruntimeInstall,
            ...deps,
          }
        : { BASE_IMAGE: env.baseImage ?? DEFAULT_SCORING_BASE_IMAGE, ...deps };
    files = depFile ? [read(inProject(depFile)), lockPath && existsSync(lockPath) ? read(lockPath) : ""] : [];
  }
  const { PYTHON_BASE_IMAGE, BASE_IMAGE, ...args } = buildArgs;
  const spec: EnvironmentSpec = { baseImage: PYTHON_BASE_IMAGE ?? BASE_IMAGE, dockerfile: read(dockerfile), args, files };
  return { hash: environmentHash({ ...spec, dockerfile: `${spec.dockerfile}\0${server}` }), dockerfile, dockerfileName, buildArgs, contexts, spec };
}

/**
 * The files a service's config names that are not there: its models, project folder, entry script
 * and environment files, relative to `projectRoot` or absolute. Each problem names the config
 * path of the value, the service and where it was looked for, so a missing file stops the
 * program (and a preview) with the key to fix instead of a bare ENOENT from deep inside a build.
 */
export function missingServiceFiles(services: readonly ModelServiceConfig[], projectRoot: string): string[] {
  const problems: string[] = [];
  services.forEach((svc, i) => {
    const versioned = svc.versions !== undefined;
    versionsOf(svc).forEach((v, j) => {
      const at = versioned ? `services[${i}].versions[${j}]` : `services[${i}]`;
      const check = (key: string, value: string | undefined, kind: "file" | "folder" | "file or folder") => {
        if (value === undefined) return;
        const abs = path.resolve(projectRoot, value);
        const found = existsSync(abs) && (kind === "file or folder" || statSync(abs).isDirectory() === (kind === "folder"));
        if (!found) problems.push(`${at}.${key}: ${kind} '${value}' of service '${svc.name}' not found (looked for ${abs})`);
      };
      v.models.forEach((m, k) => check(`models[${k}]`, m.path, "file or folder"));
      check("sourceDirectory", v.sourceDirectory, "folder");
      if (v.sourceDirectory && v.entryScript) check("entryScript", path.join(v.sourceDirectory, v.entryScript), "file");
      for (const key of ["condaFile", "pipRequirements", "dependencies", "dockerfile"] as const) check(`environment.${key}`, v.environment[key], "file");
    });
  });
  return problems;
}
