/**
 * A platform team's program, outside this repository: this package packed as `npm pack` packs it
 * and installed from the tarball with npm into a folder of its own. Used by test/consumer and by
 * the consumer-install bench.
 *
 * No network: the install is `npm ci --offline` against a lock written here from the
 * repository's own lock (every package the program needs is in the npm cache since this
 * repository's `npm ci`; what is missing is the registry's package documents, which a plain
 * `npm install` would fetch to resolve version ranges). The lock takes, for each dependency, the
 * version this repository resolved and tests with, found as Node finds a module: nested first,
 * then up the tree.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, lstatSync, writeFileSync } from "node:fs";
import * as path from "node:path";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}
interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** The Pulumi SDK and providers the component builds on: the baseline a program's install is measured against. */
export const PULUMI_BASE = ["@pulumi/pulumi", "@pulumi/azure-native", "@pulumi/kubernetes", "@pulumi/docker-build", "@pulumi/random"];

export interface ConsumerManifest {
  name: string;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** `npm pack` of the repository at `repoRoot` into `dest`; returns the tarball's path. */
export function packPackage(repoRoot: string, dest: string): string {
  const r = spawnSync("npm", ["pack", "--pack-destination", dest, "--json"], { cwd: repoRoot, encoding: "utf8", timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
  const [{ filename }] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { filename: string }[];
  return path.join(dest, filename);
}

/** Where `name` resolves from the package at lock location `from` (Node's lookup: nested, then each parent). */
function resolveIn(lock: Lock, from: string, name: string): string | undefined {
  for (let at = from; ; ) {
    const candidate = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!at) return undefined;
    const i = at.lastIndexOf("/node_modules/");
    at = i < 0 ? "" : at.slice(0, i);
  }
}

/**
 * The lock of a program depending on `manifest`'s packages: for each, and each of their
 * dependencies, the entry of the repository's lock that Node would load. A dependency the
 * repository's tree does not have fails here, by name (that would need the registry).
 */
export function consumerLock(repoLock: Lock, manifest: ConsumerManifest, tarball: { name: string; file: string; manifest: ConsumerManifest & { version: string } } | undefined, registry: string): Lock {
  const packages: Record<string, LockEntry> = {
    "": { name: manifest.name, dependencies: manifest.dependencies, ...(manifest.devDependencies ? { devDependencies: manifest.devDependencies } : {}) },
  };
  // Locations to visit: [where the dependency is wanted (lock location of its dependent), name].
  const queue: [string, string][] = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((d) => d !== tarball?.name)
    .map((d) => ["", d]);
  if (tarball) {
    const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball.file)).digest("base64")}`;
    packages[`node_modules/${tarball.name}`] = { version: tarball.manifest.version, resolved: `file:${path.basename(tarball.file)}`, integrity, dependencies: tarball.manifest.dependencies };
    queue.push(...Object.keys(tarball.manifest.dependencies).map((d) => [`node_modules/${tarball.name}`, d] as [string, string]));
  }
  const missing: string[] = [];
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    // The tarball's own dependencies sit at the program's top level, as npm hoists them.
    const at = resolveIn(repoLock, tarball && from.startsWith(`node_modules/${tarball.name}`) ? "" : from, name);
    if (!at) {
      missing.push(`${name} (wanted by ${from || "the program"})`);
      continue;
    }
    if (packages[at]) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = repoLock.packages[at];
    // A lock written with omit-lockfile-registry-resolved (as this machine's npm is set) has no
    // tarball URLs, and npm would fetch each package's registry document to find them: the URL
    // is the registry's usual one, the tarball itself comes from the cache by its integrity.
    const pkgName = at.slice(at.lastIndexOf("node_modules/") + "node_modules/".length);
    entry.resolved ??= `${registry.replace(/\/?$/, "/")}${pkgName}/-/${pkgName.split("/").pop()}-${entry.version}.tgz`;
    packages[at] = entry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}).filter((d) => resolveIn(repoLock, at, d)), ...peers]) queue.push([at, dep]);
  }
  if (missing.length > 0) throw new Error(`not in the repository's lock: ${missing.join(", ")}`);
  return { name: manifest.name, version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

export interface Installed {
  /** Seconds `npm ci` took. */
  seconds: number;
  stdout: string;
  stderr: string;
}

/**
 * Installs `manifest` into `dir`, offline; with `tarball` (a file in `dir`), `manifest`'s
 * dependencies include it as `file:<its name>`. `PATH` is the caller's: no `pulumi` on it, so
 * the Pulumi providers' install scripts install no plugin (they say so and exit 0).
 */
export function installConsumer(repoRoot: string, dir: string, tarball: string | undefined, manifest: ConsumerManifest): Installed {
  const repoLock = JSON.parse(readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as Lock;
  let packed: { name: string; file: string; manifest: ConsumerManifest & { version: string } } | undefined;
  if (tarball) {
    const read = spawnSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" });
    if (read.status !== 0) throw new Error(`cannot read the tarball's package.json: ${read.stderr}`);
    const pkg = JSON.parse(read.stdout) as ConsumerManifest & { version: string };
    packed = { name: pkg.name, file: tarball, manifest: pkg };
  }
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  const registry = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).stdout.trim();
  writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify(consumerLock(repoLock, manifest, packed, registry), null, 2));
  const started = process.hrtime.bigint();
  const r = spawnSync("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: dir, encoding: "utf8", timeout: 600_000, env: { ...process.env, npm_config_offline: "true" } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`npm ci of the program failed:\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

/** Bytes of the files under `dir` (symbolic links not followed). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else if (e.isFile()) total += lstatSync(p).size;
  }
  return total;
}

/** Every installed package under `dir`'s node_modules: lock location → its own bytes (its nested node_modules not counted). */
export function installedPackages(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const own = (pkgDir: string): number => {
    let total = 0;
    for (const e of readdirSync(pkgDir, { withFileTypes: true })) {
      if (e.name === "node_modules") continue;
      const p = path.join(pkgDir, e.name);
      total += e.isDirectory() ? treeBytes(p) : e.isFile() ? lstatSync(p).size : 0;
    }
    return total;
  };
  const walk = (modules: string, prefix: string) => {
    let entries;
    try {
      entries = readdirSync(modules, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const names = e.name.startsWith("@") ? readdirSync(path.join(modules, e.name)).map((n) => `${e.name}/${n}`) : [e.name];
      for (const name of names) {
        const pkgDir = path.join(modules, name);
        if (!lstatSync(pkgDir).isDirectory()) continue;
        const at = `${prefix}node_modules/${name}`;
        out.set(at, own(pkgDir));
        walk(path.join(pkgDir, "node_modules"), `${at}/`);
      }
    }
  };
  walk(path.join(dir, "node_modules"), "");
  return out;
}

/** The lock locations `roots` need, transitively, in the program's lock at `dir`. */
export function closureOf(dir: string, roots: readonly string[]): Set<string> {
  const lock = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8")) as Lock;
  const seen = new Set<string>();
  const queue: [string, string][] = roots.map((r) => ["", r]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    const at = resolveIn(lock, from, name);
    if (!at || seen.has(at)) continue;
    seen.add(at);
    const entry = lock.packages[at];
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})]) queue.push([at, dep]);
  }
  return seen;
}

/**
 * Bytes installed in the program at `dir`: those of the Pulumi SDK and providers (PULUMI_BASE,
 * with what they need) and those `root` adds beyond them, with the added packages' names.
 */
export function installSizes(dir: string, root = "aks-inference"): { baseBytes: number; addedBytes: number; added: string[] } {
  const base = closureOf(dir, PULUMI_BASE);
  const ours = closureOf(dir, [root]);
  let baseBytes = 0;
  let addedBytes = 0;
  for (const [at, bytes] of installedPackages(dir)) {
    if (base.has(at)) baseBytes += bytes;
    else if (ours.has(at)) addedBytes += bytes;
  }
  const added = [...ours].filter((at) => !base.has(at)).map((at) => at.slice(at.lastIndexOf("node_modules/") + "node_modules/".length));
  return { baseBytes, addedBytes, added };
}
