#!/usr/bin/env node
// The `aks-inference` command. It runs the CLI from an esbuild bundle cached under
// .aks-inference/cli/ (git-ignored): compiling the TypeScript at each call took seconds, the
// bundle loads in a fraction of one. The bundle is rebuilt (scripts/bundle.ts, the images'
// bundler) when a content hash of the sources it was built from, the lockfile and the bundler no
// longer matches; `npm ci` builds it ahead (the package's `prepare` script). Without esbuild
// (an install that omitted dev dependencies) or a writable cache, the CLI runs through tsx.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const CACHE = path.join(ROOT, ".aks-inference", "cli");
const MANIFEST = path.join(CACHE, "manifest.json");
/** Inputs that change every bundle without being one of its sources. */
const ALWAYS_HASHED = ["package-lock.json", "scripts/bundle.ts"];

/** Content hash of `files` (paths relative to the repository); a missing file hashes as missing. */
function hashOf(files) {
  const hash = createHash("sha256");
  for (const file of [...ALWAYS_HASHED, ...files]) {
    hash.update(file).update("\0");
    try {
      hash.update(fs.readFileSync(path.join(ROOT, file)));
    } catch {
      hash.update("(missing)");
    }
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** The cached bundle's path when it is up to date with its sources, else undefined. */
function freshBundle() {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(MANIFEST, "utf8"));
  } catch {
    return undefined;
  }
  const file = path.join(CACHE, `${manifest.hash}.js`);
  return hashOf(manifest.inputs) === manifest.hash && fs.existsSync(file) ? file : undefined;
}

/**
 * Builds the bundle and records what it was built from. The bundle is named by its hash so that
 * two commands rebuilding at once can never leave a manifest pointing at the other's bundle.
 */
function build() {
  require("tsx/cjs");
  const { bundle } = require("../scripts/bundle.ts");
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = path.join(CACHE, `build-${process.pid}.js`);
  let inputs;
  try {
    inputs = bundle("cli", tmp).map((file) => path.relative(ROOT, file).split(path.sep).join("/")).sort();
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const hash = hashOf(inputs);
  fs.renameSync(tmp, path.join(CACHE, `${hash}.js`));
  const manifestTmp = `${MANIFEST}.${process.pid}`;
  fs.writeFileSync(manifestTmp, JSON.stringify({ hash, inputs }, null, 2));
  fs.renameSync(manifestTmp, MANIFEST);
  // Older bundles go, but not the last minute's: a command started just before this rebuild may
  // be about to load one.
  for (const old of fs.readdirSync(CACHE)) {
    const file = path.join(CACHE, old);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (/^[0-9a-f]{16}\.js$/.test(old) && old !== `${hash}.js` && stat && Date.now() - stat.mtimeMs > 60_000) fs.rmSync(file, { force: true });
  }
  return path.join(CACHE, `${hash}.js`);
}

/** The path of an up-to-date bundle, building it when needed; undefined when it cannot be built. */
function ensureBundle() {
  const fresh = freshBundle();
  if (fresh) return fresh;
  try {
    return build();
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  const bundled = ensureBundle();
  if (bundled) {
    require(bundled);
  } else {
    require("tsx/cjs");
    require("./main.ts");
  }
} else {
  module.exports = { ensureBundle };
}
