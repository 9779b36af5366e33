/**
 * The whole project type-checks (`tsc --noEmit` over tsconfig.json: programs, components, runtime
 * code, scripts, benchmarks and tests, strict). The other tests run their TypeScript through tsx,
 * which strips types without checking them, so this is the suite's only type check: a test
 * rather than a step before mocha so that it runs in parallel with the others (it is 15 s of one
 * core), in the folder mocha dispatches early. Incremental: tsc keeps what it learnt of the files
 * that did not change under node_modules/.cache (a fresh `npm ci` starts it over), which makes
 * the next run's check half as long (about 9 s of CPU instead of 17).
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";

describe("TypeScript", function () {
  this.timeout(180_000);

  it("type-checks the whole project (tsc -p tsconfig.json --noEmit)", async () => {
    const tsc = require.resolve("typescript/bin/tsc");
    const buildInfo = path.join(REPO_ROOT, "node_modules", ".cache", "aks-inference", "typecheck.tsbuildinfo");
    const args = [tsc, "-p", "tsconfig.json", "--noEmit", "--incremental", "--tsBuildInfoFile", buildInfo, "--pretty", "false"];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
    assert.equal(status, 0, `tsc found errors:\n${out}`);
  });
});
