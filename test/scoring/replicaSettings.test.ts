/**
 * The replica applies the settings its environment gives it: the service's own body limit (its
 * guard and its OpenAPI document's 413) and the service's scoring timeout when it drains.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { EntryScriptHandler, type HttpHandler, type ScoringHandler } from "../../scoring/handlers";
import { PythonHandler } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { startReplicas, type Replicas } from "../support/replicas";
import { tempDir } from "../support/tmp";

const log = pino({ level: "silent" });
const MiB = 1024 * 1024;

function project(files: Record<string, string>): string {
  const dir = tempDir("replica-settings");
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: res.status, text: await res.text() };
}

describe("replica settings applied", function () {
  this.timeout(10_000);
  const servers: ScoringServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (handler: ScoringHandler | HttpHandler, opts: { maxBodyBytes?: number; scoringTimeoutMs?: number }) => {
    const server = await startScoringServer({ service: "svc", replica: "r1", handler, log, ...opts });
    servers.push(server);
    await server.initialize();
    return server;
  };

  const jsHandler = () => {
    const dir = project({ "score.js": "exports.run = (input) => ({ length: input.length });\n" });
    return new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} });
  };
  const pythonHandler = () => {
    const dir = project({ "score.py": "def init(): pass\ndef run(raw):\n    return {'length': len(raw)}\n" });
    mkdirSync(path.join(dir, "models"));
    return new PythonHandler({ python: "/usr/bin/python3", appRoot: dir, entryScript: "score.py", models: { modelDir: dir, models: {} }, modelsRoot: path.join(dir, "models"), service: "svc", workers: 1, scoringTimeoutMs: 5000, log });
  };

  for (const [kind, handler] of [["JavaScript", jsHandler], ["Python", pythonHandler]] as const) {
    it(`${kind}: a body over the service's limit gets a 413 naming it, and the replica answers the next request`, async () => {
      const server = await start(handler(), { maxBodyBytes: 1000 });
      const within = JSON.stringify("x".repeat(998));
      assert.equal(within.length, 1000);
      assert.equal((await post(server.url, within)).status, 200);
      for (const size of [1001, 300_000]) {
        const over = await post(server.url, JSON.stringify("x".repeat(size)));
        assert.equal(over.status, 413, `${size}: ${over.text}`);
        assert.match(over.text, /request body exceeds 1000 bytes/);
      }
      assert.equal((await post(server.url, within)).status, 200);
    });
  }

  it("drains for the service's scoring timeout, not a fixed minute", async () => {
    const dir = project({ "score.js": "exports.run = () => new Promise(() => {});\n" });
    const server = await start(new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} }), { scoringTimeoutMs: 300 });
    const hanging = fetch(`${server.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    await servers.splice(0)[0].close();
    const ms = Date.now() - t;
    assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
    assert.ok((await hanging) instanceof Error, "the request still running at the deadline is cut off");
  });
});

describe("replica settings from local mode's environment", function () {
  this.timeout(30_000);
  let replicas: Replicas;
  before(async () => {
    const repo = tempDir("replica-settings-repo");
    mkdirSync(path.join(repo, "small"));
    writeFileSync(path.join(repo, "small", "score.js"), "exports.run = (input) => ({ length: input.length });\n");
    // 256 MB for a JavaScript script: (256 - 130) / 18 = 7 MiB (core/decisions/payloadLimit.ts).
    replicas = await startReplicas(repo, [{ name: "small", sourceDirectory: "small", entryScript: "score.js", memoryGb: 0.25, numReplicas: 1, authEnabled: false }]);
  });
  after(() => replicas?.close());

  it("the service's body limit reaches the replica's guard and its OpenAPI 413", async () => {
    const limit = 7 * MiB;
    void replicas.supervisor.setReplicas("small", 1);
    const status = await replicas.until("small", (s) => s.ready === 1);
    assert.equal(status.ready, 1, replicas.log("small").slice(-2000));
    const url = status.replicas[0].url;
    const doc = (await (await fetch(`${url}/swagger.json`)).json()) as { paths: Record<string, { post: { responses: Record<string, { description: string }> } }> };
    assert.equal(doc.paths["/api/v1/service/small/score"].post.responses["413"].description, `Payload larger than ${limit} bytes, the service's limit (what its replicas' memory holds)`);
    const over = await post(url, JSON.stringify("x".repeat(limit)));
    assert.equal(over.status, 413, over.text);
    assert.match(over.text, new RegExp(`request body exceeds ${limit} bytes`));
    assert.equal((await post(url, JSON.stringify("x".repeat(limit - 2)))).status, 200);
  });
});
