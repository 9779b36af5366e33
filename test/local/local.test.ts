/**
 * Local mode as a user runs it: `npm start`, the CLI against it, scoring the sample model,
 * auth, key rotation under traffic, autoscaling under load, Ctrl-C, and the collected data.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { BLOB_CONTAINERS } from "../../core/contracts/naming";
import { startAzurite } from "../../local/azurite";
import { REGRESSOR, REGRESSOR_V2_BIAS, regressorOutput } from "../../samples/make-regressor";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const run = promisify(execFile);

describe("local mode (npm start) end to end", function () {
  this.timeout(120_000);
  let dir: string;
  let local: ChildProcess;
  let routerUrl: string;
  let exited: Promise<number | null>;
  /** What `npm start` printed. */
  let banner = "";

  /** The CLI as a user runs it, with --json. */
  async function cli(...args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
    try {
      const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, "cli", "bin.js"), "--json", "--local-dir", dir, ...args], { cwd: REPO_ROOT });
      return { code: 0, json: JSON.parse(stdout) as Record<string, unknown> };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { code: e.code, json: JSON.parse(e.stdout) as Record<string, unknown> };
    }
  }
  const score = (key: string | undefined, body: unknown = { data: [[1, 2, 3, 4]] }, headers: Record<string, string> = {}) =>
    fetch(`${routerUrl}/api/v1/service/regressor/score`, { method: "POST", headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, body: JSON.stringify(body) });

  before(async () => {
    dir = tempDir("local");
    local = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "local/main.ts", "--port", "0", "--dir", dir], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    exited = new Promise((r) => local.once("exit", (code) => r(code)));
    let out = "";
    routerUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local mode did not start: ${out}`)), 60_000);
      local.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /router at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      local.once("exit", (code) => reject(new Error(`local mode exited (${code}): ${out}`)));
    });
    assert.match(out, /curl -s http:\/\/127\.0\.0\.1:\d+\/api\/v1\/service\/regressor\/score/, "the banner shows how to call the service");
    banner = out;
  });

  after(async () => {
    if (local.exitCode === null) {
      local.kill("SIGTERM");
      await exited;
    }
  });

  it("becomes Healthy (wait) and serves the model's real output with the primary key", async () => {
    const waited = await cli("wait", "regressor", "--timeout", "60");
    assert.equal(waited.code, 0, JSON.stringify(waited.json));
    assert.equal(waited.json.state, "Healthy");
    const keys = (await cli("keys", "regressor")).json as { primaryKey: string };
    // The dev stack's regressor has two versions: each answers with its own model.
    for (const [version, bias] of [["v1", REGRESSOR.bias], ["v2", REGRESSOR_V2_BIAS]] as const) {
      const res = await score(keys.primaryKey, undefined, { "azureml-model-deployment": version });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("azureml-model-deployment"), version);
      const out = ((await res.json()) as { output: number[][] }).output[0][0];
      const expected = regressorOutput([1, 2, 3, 4], bias);
      assert.ok(Math.abs(out - expected) < 1e-5, `${version}: ${out} != ${expected}`);
    }
    const uri = (await cli("uri", "regressor")).json;
    assert.equal(uri.scoringUri, `${routerUrl}/api/v1/service/regressor/score`);
  });

  it("prints curl commands that work when pasted into a shell", async () => {
    const commands = banner.split("\n").filter((l) => l.trim().startsWith("curl "));
    assert.equal(commands.length, 3, "one per service of the dev stack");
    assert.equal((await cli("wait", "diabetes", "--timeout", "60")).json.state, "Healthy");
    const answers = await Promise.all(commands.map(async (c) => JSON.parse((await run("sh", ["-c", c.trim()], { cwd: REPO_ROOT })).stdout) as unknown));
    assert.ok(Array.isArray((answers[0] as { output: unknown }).output), `regressor: ${JSON.stringify(answers[0])}`);
    assert.equal((answers[1] as { echo: string }).echo, "hello");
    // The Python sample: score.py's run() returns model.predict(...).tolist() for the sample request.
    const prediction = answers[2] as number[];
    assert.ok(Array.isArray(prediction) && prediction.length === 1 && prediction[0] > 100 && prediction[0] < 300, `diabetes: ${JSON.stringify(prediction)}`);
  });

  it("answers 401 without a key", async () => {
    const res = await score(undefined);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "Unauthorized");
  });

  it("keeps accepting the primary key while the secondary is regenerated", async () => {
    const keys = (await cli("keys", "regressor")).json as { primaryKey: string; secondaryKey: string };
    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) statuses.push((await score(keys.primaryKey)).status);
    })();
    const regen = await cli("regen-key", "regressor", "--key", "secondary");
    assert.equal(regen.code, 0);
    assert.notEqual(regen.json.secondaryKey, keys.secondaryKey);
    assert.equal(regen.json.primaryKey, keys.primaryKey);
    await new Promise((r) => setTimeout(r, 1_500)); // the router re-reads the key file within a second
    stop = true;
    await traffic;
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal((await score(keys.secondaryKey)).status, 401, "the old secondary key no longer works");
    assert.equal((await score(String(regen.json.secondaryKey))).status, 200);
  });

  it("scales the service out under load, as on the cluster", async () => {
    const key = ((await cli("keys", "regressor")).json as { primaryKey: string }).primaryKey;
    let stop = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) await (await score(key)).arrayBuffer();
    });
    // Each of regressor's versions scales on its own within the service's min/max (the service's
    // `desired` is their sum: 2 at rest, 5 with v1 at its maximum).
    type Versions = { versions: { version: string; desired: number }[] };
    const deadline = Date.now() + 30_000;
    let versions: Versions["versions"] = [];
    while (Date.now() < deadline && !versions.some((v) => v.desired >= 2)) {
      await new Promise((r) => setTimeout(r, 250));
      versions = ((await cli("state", "regressor")).json as Versions).versions;
    }
    stop = true;
    await Promise.all(clients);
    const desired = JSON.stringify(versions.map((v) => [v.version, v.desired]));
    assert.ok(versions.some((v) => v.desired >= 2), `no version scaled out under load: ${desired}`);
    for (const v of versions) assert.ok(v.desired <= 4, `${v.version} never beyond autoscaleMaxReplicas (4): ${desired}`);
  });

  it("traffic: moves regressor's split between its versions live, and state shows it", async () => {
    const key = ((await cli("keys", "regressor")).json as { primaryKey: string }).primaryKey;
    const moved = await cli("traffic", "regressor", "v1=0", "v2=100");
    assert.equal(moved.code, 0, JSON.stringify(moved.json));
    const answered = await Promise.all(Array.from({ length: 20 }, async () => (await score(key)).headers.get("azureml-model-deployment")));
    assert.deepEqual(new Set(answered), new Set(["v2"]), "every request now goes to v2");
    const state = (await cli("state", "regressor")).json as { versions: { version: string; traffic: number }[] };
    assert.deepEqual(state.versions.map((v) => [v.version, v.traffic]), [["v1", 0], ["v2", 100]]);
    assert.equal((await cli("traffic", "regressor", "v1=90", "v2=20")).code, 1, "a split that does not sum to 100 is refused");
    assert.equal((await cli("traffic", "regressor", "v1=90", "v2=10")).code, 0);
  });

  it("explains errors: unknown service, token for a key service", async () => {
    const unknown = await cli("state", "nope");
    assert.equal(unknown.code, 1);
    assert.match(String(unknown.json.error), /does not exist/);
    const token = await cli("token", "regressor");
    assert.equal(token.code, 1);
    assert.match(String(token.json.error), /uses key auth/);
    const logs = await cli("logs", "regressor", "--tail", "50");
    assert.match(String(logs.json.logs), /init\(\) finished: replica ready/);
  });

  it("stops cleanly on SIGTERM and leaves the collected requests in storage", async () => {
    const key = ((await cli("keys", "regressor")).json as { primaryKey: string }).primaryKey;
    const marked = await fetch(`${routerUrl}/api/v1/service/regressor/score`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-ms-request-id": "e2e-marker-request" },
      body: JSON.stringify({ data: [[4, 3, 2, 1]] }),
    });
    assert.equal(marked.status, 200);
    local.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(!existsSync(path.join(dir, "state.json")), "state file removed");
    const azurite = await startAzurite(path.join(dir, "azurite"));
    try {
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(BLOB_CONTAINERS.modelData);
      let found = false;
      for await (const b of container.listBlobsFlat({ prefix: "regressor/" })) {
        const text = (await container.getBlobClient(b.name).downloadToBuffer()).toString();
        if (text.includes('"requestId":"e2e-marker-request"')) found = true;
      }
      assert.ok(found, "the last request was flushed to the modeldata container on shutdown");
    } finally {
      await azurite.stop();
    }
  });
});
