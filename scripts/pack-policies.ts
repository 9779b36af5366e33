/**
 * The policy pack as it is published. In this repository `policies/` runs from its TypeScript
 * sources (`--policy-pack policies`): its rules import the shared decisions in `core/`, and
 * @pulumi/policy resolves from the checkout's node_modules. A published pack has neither: Pulumi
 * installs it alone, with only the dependencies its package.json declares. So this bundles
 * policies/index.ts with everything it imports (core/ and those modules' npm dependencies) into
 * one index.js, keeps @pulumi/policy and @pulumi/pulumi (whose run-policy-pack serves the pack)
 * outside it as declared dependencies, and writes the folder `pulumi policy publish` takes.
 *
 *   npm run pack-policies [-- <folder>]   # default dist/policy-pack, its npm tarball beside it
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { bundleEntry } from "./bundle";

const REPO_ROOT = path.join(__dirname, "..");
export const POLICIES_DIR = path.join(REPO_ROOT, "policies");
export const DEFAULT_PACK_DIR = path.join(REPO_ROOT, "dist", "policy-pack");

/** The fields of policies/package.json the published manifest is made from. */
export interface PolicyPackManifest {
  name: string;
  version: string;
  description: string;
  license: string;
  dependencies: Record<string, string>;
}

interface PolicyProject {
  description: string;
  runtime: { name: string; options?: Record<string, unknown> };
}

/** Files the published pack holds (npm adds package.json itself). */
const PACK_FILES = ["index.js", "PulumiPolicy.yaml"];

export function readPolicyManifest(): PolicyPackManifest {
  const manifest = JSON.parse(readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")) as Partial<PolicyPackManifest>;
  for (const key of ["name", "version", "description", "license"] as const) {
    if (typeof manifest[key] !== "string" || manifest[key] === "") throw new Error(`policies/package.json: "${key}" must be a non-empty string`);
  }
  if (!manifest.dependencies?.["@pulumi/policy"] || !manifest.dependencies["@pulumi/pulumi"]) {
    throw new Error('policies/package.json: "dependencies" must name @pulumi/policy and @pulumi/pulumi (the pack is served by @pulumi/pulumi\'s run-policy-pack)');
  }
  return manifest as PolicyPackManifest;
}

/**
 * Writes the self-contained pack into `outDir` (emptied first): index.js, package.json whose main
 * is index.js, and PulumiPolicy.yaml without TypeScript (there is none left to compile).
 */
export function buildPolicyPack(outDir: string): PolicyPackManifest {
  const manifest = readPolicyManifest();
  const project = parse(readFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), "utf8")) as PolicyProject;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  // The declared dependencies stay package lookups: bundling @pulumi/policy would give the pack
  // its own copy of the gRPC server the installed @pulumi/pulumi expects to find beside it.
  bundleEntry(path.join(POLICIES_DIR, "index.ts"), path.join(outDir, "index.js"), Object.keys(manifest.dependencies));

  const published = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    // Published to Pulumi Cloud, never to an npm registry.
    private: true,
    main: "index.js",
    files: PACK_FILES,
    dependencies: manifest.dependencies,
  };
  writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(published, null, 2)}\n`);
  const runtime = { ...project.runtime, options: { ...project.runtime.options, typescript: false } };
  writeFileSync(path.join(outDir, "PulumiPolicy.yaml"), stringify({ ...project, runtime }, { lineWidth: 0 }));
  return manifest;
}

/** `npm pack` of a built pack folder into `destination`; returns the tarball's path and its files. */
export function packPolicyPack(packDir: string, destination: string): { tarball: string; files: string[] } {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: packDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(destination, result.filename), files: result.files.map((f) => f.path) };
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? DEFAULT_PACK_DIR);
  const manifest = buildPolicyPack(outDir);
  const { tarball } = packPolicyPack(outDir, path.dirname(outDir));
  console.log(`${manifest.name}@${manifest.version}: ${path.relative(process.cwd(), outDir)} (pulumi policy publish <org> there), ${path.relative(process.cwd(), tarball)}`);
}
