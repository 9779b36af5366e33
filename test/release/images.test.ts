/**
 * The images install their own dependency manifest (images/package.json and its lock), not the
 * repository's development tree: each of its packages must be the version this repository's
 * lock resolves, so the images run what the tests ran, and its lock must be in step with it.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { BUNDLES } from "../../scripts/bundle";
import { REPO_ROOT } from "../support/stacks";

interface Lock {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
}
const read = <T>(file: string): T => JSON.parse(readFileSync(path.join(REPO_ROOT, file), "utf8")) as T;

describe("the images' dependency manifest", () => {
  const manifest = read<{ dependencies: Record<string, string> }>("images/package.json");
  const imagesLock = read<Lock>("images/package-lock.json");
  const repoLock = read<Lock>("package-lock.json");

  it("pins every package to the version the repository's own lock resolves", () => {
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      assert.equal(version, repoLock.packages[`node_modules/${name}`]?.version, `${name}: images/package.json has ${version}`);
    }
  });

  it("has a lock in step with it", () => {
    assert.deepEqual(imagesLock.packages[""].dependencies, manifest.dependencies, "run `npm install --package-lock-only` in images/");
    for (const [name, version] of Object.entries(manifest.dependencies)) assert.equal(imagesLock.packages[`node_modules/${name}`]?.version, version, name);
  });

  it("holds what the bundles leave outside and what builds them", () => {
    for (const name of [...BUNDLES.scoring.external, "esbuild", "tsx"]) assert.ok(name in manifest.dependencies, name);
  });
});
