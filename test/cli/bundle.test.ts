/**
 * The `aks-inference` command runs from a cached esbuild bundle (cli/bin.js): it answers in well
 * under a second once built, prints exactly what the TypeScript CLI prints, and is rebuilt when
 * a source changes. Runs on a copy of the CLI's sources so editing one touches nothing shared.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const run = promisify(execFile);
const REPLICAS = ["--json", "replicas", "--rps", "20", "--seconds", "10", "--target", "70", "--per-container", "1"];

describe("CLI from a cached bundle (cli/bin.js)", function () {
  this.timeout(120_000);
  let copy: string;
  const manifest = () => JSON.parse(readFileSync(path.join(copy, ".aks-inference", "cli", "manifest.json"), "utf8")) as { hash: string; inputs: string[] };
  const bin = (...args: string[]) => run(process.execPath, [path.join(copy, "cli", "bin.js"), ...args], { cwd: copy });

  before(() => {
    copy = tempDir("cli-bundle");
    // The project's sources, whatever the CLI imports (not its dependencies, state or tests).
    const skip = new Set([".git", "node_modules", ".aks-inference", "dist", "test", "bench", "docs"]);
    for (const entry of readdirSync(REPO_ROOT)) {
      if (!skip.has(entry)) cpSync(path.join(REPO_ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(copy, "node_modules"));
  });

  it("builds the bundle on first run and prints what the TypeScript CLI prints", async () => {
    const bundled = await bin(...REPLICAS);
    const m = manifest();
    assert.ok(existsSync(path.join(copy, ".aks-inference", "cli", `${m.hash}.js`)), "the bundle is cached");
    assert.ok(m.inputs.includes("cli/main.ts") && m.inputs.includes("core/decisions/autoscale.ts"), m.inputs.join(", "));
    assert.ok(!m.inputs.some((f) => f.includes("node_modules")), "dependencies change through the lockfile, not file by file");
    const compiled = await run(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(copy, "cli", "main.ts"), ...REPLICAS], { cwd: copy });
    assert.equal(bundled.stdout, compiled.stdout);
    assert.deepEqual(JSON.parse(bundled.stdout), { replicas: 286 });
  });

  it("answers from the cache in well under a second", async () => {
    const { hash } = manifest();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      await bin(...REPLICAS);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    assert.equal(manifest().hash, hash, "an unchanged source tree is not rebuilt");
    // About 0.3 s on 2 shared cores; compiling TypeScript at each call took 2 to 5 s.
    assert.ok(Math.min(...times) < 1000, `fastest of 3 runs: ${Math.min(...times).toFixed(0)} ms`);
  });

  it("rebuilds when a source the CLI is built from changes", async () => {
    const { hash } = manifest();
    const main = path.join(copy, "cli", "main.ts");
    writeFileSync(main, readFileSync(main, "utf8").replace("Operate model services", "Operate edited model services"));
    const { stdout } = await bin("--help");
    assert.match(stdout, /Operate edited model services/);
    assert.notEqual(manifest().hash, hash);
  });

  it("`npx aks-inference` runs the linked command without installing the project into npx's cache", async () => {
    // With the command declared in the root package.json, every npx call copied the project into
    // its cache and read its whole dependency tree first: 0.9 s before the CLI started.
    const cache = tempDir("npm-cache");
    const { stdout } = await run("npx", ["aks-inference", "--help"], { cwd: REPO_ROOT, env: { ...process.env, npm_config_cache: cache } });
    assert.match(stdout, /^Usage: aks-inference/);
    assert.ok(!existsSync(path.join(cache, "_npx")), `npx installed the project into ${path.join(cache, "_npx")}`);
  });
});
