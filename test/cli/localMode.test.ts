/**
 * The CLI against a running local mode (started in-process with two small JavaScript services,
 * one with key auth, one with token auth): `list`, `run`, and `logs` with --since / --follow,
 * which local mode serves from its per-service log files. KUBECONFIG is set throughout: a running
 * local mode comes first.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../core/config";
import type { ServiceDescription } from "../../local/admin";
import { startLocal, type LocalMode } from "../../local/main";
import { CLI_BIN, envWithout, runCli } from "../support/cli";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

describe("CLI against local mode: list, run, logs --since / --follow", function () {
  this.timeout(60_000);
  let local: LocalMode;
  let dir: string;
  /** A KUBECONFIG that would fail if it were used. */
  const env = { ...envWithout("KUBECONFIG"), KUBECONFIG: "/nonexistent/kubeconfig" };
  const cli = (...args: string[]) => runCli(["--local-dir", dir, ...args], { env });

  before(async () => {
    const repo = tempDir("cli-local");
    mkdirSync(path.join(repo, "hello"));
    writeFileSync(path.join(repo, "hello", "score.js"), 'exports.init = async () => {};\nexports.run = async (input) => {\n  console.log("scoring " + JSON.stringify(input));\n  return { got: input };\n};\n');
    const service = (name: string, auth: Record<string, boolean>) => ({ name, sourceDirectory: "hello", entryScript: "score.js", numReplicas: 1, ...auth });
    const config = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [service("keyed", {}), service("tokened", { tokenAuthEnabled: true })] }, "t");
    dir = tempDir("cli-local-state");
    local = await startLocal({ stack: "t", port: 0, dir, repoRoot: repo, config, logLevel: "silent" });
    const deadline = Date.now() + 40_000;
    while (["keyed", "tokened"].some((s) => local.status(s).state !== "Healthy") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  });
  after(() => local?.stop());

  it("list: each service's state, replicas, auth and scoring URI", async () => {
    const { code, stdout, stderr } = await cli("--json", "list");
    assert.equal(code, 0, stderr);
    const listed = (JSON.parse(stdout) as ServiceDescription[]).map((s) => [s.name, s.state, `${s.ready}/${s.desired}`, s.authMode, s.scoringUri]);
    assert.deepEqual(listed, [
      ["keyed", "Healthy", "1/1", "key", `${local.router.url}/api/v1/service/keyed/score`],
      ["tokened", "Healthy", "1/1", "token", `${local.router.url}/api/v1/service/tokened/score`],
    ]);
    assert.match((await cli("list")).stdout, new RegExp(`^tokened\\s+Healthy\\s+1/1\\s+token\\s+${local.router.url}/api/v1/service/tokened/score$`, "m"));
  });

  it("run: through local mode's router, with the primary key or a token", async () => {
    const key = await cli("run", "keyed", "--data", '{"n": 1}');
    assert.equal(key.code, 0, key.stderr);
    assert.deepEqual(JSON.parse(key.stdout), { got: { n: 1 } });
    const token = await cli("run", "tokened", "--data", '{"n": 2}');
    assert.equal(token.code, 0, token.stderr);
    assert.deepEqual(JSON.parse(token.stdout), { got: { n: 2 } });
  });

  it("logs: --since keeps recent lines, --tail the last ones (a number); --previous and --replica say they are for clusters", async () => {
    const recent = String(JSON.parse((await cli("--json", "logs", "keyed", "--since", "10m")).stdout).logs);
    assert.match(recent, /scoring \{"n":1\}/);
    const last = String(JSON.parse((await cli("--json", "logs", "keyed", "--tail", "1")).stdout).logs);
    assert.equal(last.trimEnd().split("\n").length, 1);
    const previous = await cli("logs", "keyed", "--previous");
    assert.equal(previous.code, 1);
    assert.match(previous.stderr, /^--previous is not available in local mode: it keeps one log per service, with every run of its replicas in it/);
    assert.match((await cli("logs", "keyed", "--replica", "keyed-1")).stderr, /^--replica is not available in local mode/);
    assert.match((await cli("logs", "keyed", "--tail", "ten")).stderr, /^--tail must be a whole number of lines above 0 \(got 'ten'\)/);
  });

  it("logs -f: prints a request's output as the replica writes it, and ends when local mode stops", async () => {
    const child = spawn(process.execPath, [CLI_BIN, "--local-dir", dir, "--json", "logs", "keyed", "-f", "--tail", "1"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    let out = "";
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not seen ${re}: ${out}`)), 8_000);
        const check = () => {
          if (!re.test(out)) return;
          clearTimeout(timer);
          resolve();
        };
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          check();
        });
        check();
      });
    try {
      await seen(/\n/); // following: the last line already written
      assert.equal((await cli("run", "keyed", "--data", '{"followed": true}')).code, 0);
      await seen(/scoring \{\\"followed\\":true\}/);
      const line = out.split("\n").find((l) => l.includes("followed"));
      assert.deepEqual(JSON.parse(line ?? ""), { from: "keyed", line: 'scoring {"followed":true}' });
      await local.stop();
      assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 5_000))]), 0);
    } finally {
      child.kill();
    }
  });
});
