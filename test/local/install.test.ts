/**
 * Installing as a user does: npm prints no warning about this project's configuration, and
 * onnxruntime-node's install script (a CUDA download from outside the npm registry, which fails
 * on machines that reach only the registry) never runs.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/stacks";

const run = promisify(execFile);

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };

/** The package name of a lockfile key such as `node_modules/a/node_modules/@scope/b`. */
const nameOf = (key: string) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);

describe("npm install (quiet, no CUDA download)", () => {
  it("npm reads this project's configuration without a warning", async () => {
    const { stderr } = await run("npm", ["config", "list"], { cwd: REPO_ROOT });
    assert.doesNotMatch(stderr, /warn/i, stderr);
  });

  it("denies onnxruntime-node's install script and names every other dependency with one", () => {
    const policy = pkg.allowScripts ?? {};
    assert.equal(policy["onnxruntime-node"], false, "package.json allowScripts must deny onnxruntime-node (its script downloads CUDA)");
    const withScripts = Object.entries(lock.packages)
      .filter(([key, entry]) => key !== "" && entry.hasInstallScript)
      .map(([key]) => nameOf(key));
    assert.ok(withScripts.includes("onnxruntime-node"), "the lockfile still marks onnxruntime-node as having an install script");
    // npm warns at every install about a dependency whose script the policy does not name.
    const unreviewed = withScripts.filter((name) => !(name in policy));
    assert.deepEqual(unreviewed, [], `add these to allowScripts in package.json (npm install-scripts approve|deny <pkg>)`);
  });
});
