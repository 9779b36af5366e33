/** The scoring server with real entry scripts, the real ONNX model, and a real Azurite. */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import pino from "pino";
import { parseStackConfig } from "../../core/config";
import { BLOB_CONTAINERS } from "../../core/contracts/naming";
import { startAzurite, type Azurite } from "../../local/azurite";
import { createBlobContainers, uploadService } from "../../packaging/upload";
import { REGRESSOR, regressorOutput } from "../../samples/make-regressor";
import { bootstrap } from "../../scoring/bootstrap";
import { DataCollector, recordBlobName } from "../../scoring/collector";
import { EntryScriptHandler, OnnxHandler, type ScoringHandler } from "../../scoring/handlers";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { REPO_ROOT, rawStack } from "../support/stacks";
import { tempDir } from "../support/tmp";

const log = pino({ level: "silent" });
const MODEL = path.join(REPO_ROOT, "samples", "models", "regressor.onnx");

async function post(server: ScoringServer, body: unknown, pathName = "/score"): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${pathName}`, { method: "POST", headers: { "content-type": "application/json", "x-ms-request-id": "rid-1" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function script(source: string): string {
  const dir = tempDir("entry");
  writeFileSync(path.join(dir, "score.js"), source);
  return path.join(dir, "score.js");
}

describe("scoring server", function () {
  this.timeout(30_000);
  const servers: ScoringServer[] = [];
  const start = async (handler: ScoringHandler, collector?: DataCollector) => {
    const s = await startScoringServer({ service: "svc", replica: "r1", handler, log, collector });
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe("entry script contract", () => {
    it("calls init() once and run() per request, and is ready only after init()", async () => {
      const file = script(`let inits = 0; exports.init = async () => { await new Promise(r => setTimeout(r, 200)); inits++; };
        exports.run = async (input) => ({ inits, doubled: input.x * 2 });`);
      const server = await start(new EntryScriptHandler(file, { modelDir: "", models: {} }));
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503, "not ready before init()");
      assert.equal((await post(server, { x: 1 })).status, 503);
      await server.initialize();
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.deepEqual((await post(server, { x: 21 })).json, { inits: 1, doubled: 42 });
      assert.deepEqual((await post(server, { x: 1 })).json, { inits: 1, doubled: 2 });
    });

    it("turns run() errors into JSON 4xx (caller's fault) or 500, and keeps serving", async () => {
      const file = script(`exports.run = (input) => { if (input.bad) { const e = new Error("bad field"); e.statusCode = 422; throw e; } if (input.boom) throw new Error("kaboom"); return { ok: true }; };`);
      const server = await start(new EntryScriptHandler(file, { modelDir: "", models: {} }));
      await server.initialize();
      const bad = await post(server, { bad: true });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.json, { error: { code: "BadInput", message: "bad field" } });
      const boom = await post(server, { boom: true });
      assert.equal(boom.status, 500);
      assert.match((boom.json.error as { message: string }).message, /run\(\) failed: kaboom/);
      assert.equal((await post(server, "{not json")).status, 400);
      assert.deepEqual((await post(server, {})).json, { ok: true });
    });

    it("reports an init() failure as a failed state with the script's error", async () => {
      const file = script(`exports.init = () => { throw new Error("model file missing"); }; exports.run = () => 1;`);
      const server = await start(new EntryScriptHandler(file, { modelDir: "", models: {} }));
      await assert.rejects(server.initialize(), /model file missing/);
      assert.equal(server.state(), "failed");
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: "failed" });
    });

    it("refuses a script without run()", async () => {
      const server = await start(new EntryScriptHandler(script("exports.init = () => {};"), { modelDir: "", models: {} }));
      await assert.rejects(server.initialize(), /exports no run\(input\)/);
    });

    it("serves the sample echo project", async () => {
      const server = await start(new EntryScriptHandler(path.join(REPO_ROOT, "samples/echo/score.js"), { modelDir: "", models: {} }));
      await server.initialize();
      assert.equal((await post(server, { message: "hi" })).json.echo, "hi");
      assert.equal((await post(server, { nope: 1 })).status, 400);
      const swagger = (await (await fetch(`${server.url}/swagger.json`)).json()) as { paths: Record<string, unknown> };
      assert.ok(swagger.paths["/api/v1/service/svc/score"]);
    });
  });

  describe("built-in ONNX handler", () => {
    let server: ScoringServer;
    beforeEach(async () => {
      server = await start(new OnnxHandler({ modelDir: path.dirname(MODEL), models: { regressor: MODEL } }));
      await server.initialize();
    });

    it("runs the real model on the AML sample form {data: [[...]]}", async () => {
      const rows = [
        [1, 2, 3, 4],
        [0.5, -1, 0, 2],
      ];
      const r = await post(server, { data: rows });
      assert.equal(r.status, 200);
      const out = r.json[REGRESSOR.outputName] as number[][];
      rows.forEach((row, i) => assert.ok(Math.abs(out[i][0] - regressorOutput(row)) < 1e-5, `${out[i][0]} != ${regressorOutput(row)}`));
    });

    it("accepts named inputs and the Open Inference Protocol v2", async () => {
      const named = await post(server, { inputs: { input: [[1, 1, 1, 1]] } });
      assert.ok(Math.abs((named.json.output as number[][])[0][0] - regressorOutput([1, 1, 1, 1])) < 1e-5);
      const v2 = await post(server, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] }, "/v2/models/svc/infer");
      assert.equal(v2.status, 200);
      const [t] = v2.json.outputs as { name: string; shape: number[]; datatype: string; data: number[] }[];
      assert.deepEqual([t.name, t.shape, t.datatype], ["output", [1, 1], "FP32"]);
      assert.ok(Math.abs(t.data[0] - regressorOutput([1, 2, 3, 4])) < 1e-5);
    });

    it("answers wrong shapes and types 400, not 500", async () => {
      for (const body of [{ data: [[1, 2, 3]] }, { data: [[1, 2], [3]] }, { data: [["a", 1, 2, 3]] }, { nothing: 1 }, [1, 2]]) {
        const r = await post(server, body);
        assert.equal(r.status, 400, JSON.stringify(body));
      }
    });

    it("answers 400 to JSON nested 100,000 deep (it was a 500: the parser ran out of stack)", async () => {
      const r = await post(server, `{"data": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
      assert.equal(r.status, 400);
      assert.match(String((r.json.error as { message: string }).message), /nests JSON deeper than 512 levels/);
    });

    it("describes the model's inputs and outputs in swagger.json, for GET only", async () => {
      const doc = JSON.stringify(await (await fetch(`${server.url}/swagger.json`)).json());
      assert.match(doc, /input/);
      assert.match(doc, /"output"/);
      const post = await fetch(`${server.url}/swagger.json`, { method: "POST", body: "{}" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
    });

    it("takes the request id by Azure ML's rule (core/contracts/requestId.ts) and refuses one over 100 characters", async () => {
      const v2Id = async (headers: Record<string, string>) => {
        const res = await fetch(`${server.url}/v2/models/svc/infer`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] }) });
        return { status: res.status, body: (await res.json()) as { id?: string; error?: { code: string; message: string } } };
      };
      assert.equal((await v2Id({ "x-ms-request-id": "l", "x-request-id": "r" })).body.id, "l");
      assert.equal((await v2Id({ "x-ms-client-request-id": "c", "x-request-id": "r" })).body.id, "c", "the client id before x-request-id");
      assert.equal((await v2Id({ "x-request-id": "r" })).body.id, "r");
      assert.match((await v2Id({})).body.id ?? "", /^[0-9a-f-]{36}$/, "a new id, not an empty one");
      const long = await v2Id({ "x-ms-client-request-id": "c".repeat(101) });
      assert.equal(long.status, 431);
      assert.deepEqual(long.body.error, { code: "RequestIdTooLong", message: "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters" });
    });
  });

  describe("with blob storage (Azurite)", function () {
    this.timeout(60_000);
    let azurite: Azurite;
    let blob: BlobServiceClient;
    before(async () => {
      azurite = await startAzurite(tempDir("azurite"));
      blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
      await createBlobContainers(blob);
    });
    after(async () => azurite.stop());

    it("downloads and unpacks the package and models a replica needs at start", async () => {
      const cfg = parseStackConfig(rawStack("dev"), "dev");
      const echo = cfg.services.find((s) => s.name === "echo")!;
      const regressor = cfg.services.find((s) => s.name === "regressor")!;
      const up = await uploadService(echo, REPO_ROOT, blob);
      assert.match(up.packageBlob, /^echo\/[0-9a-f]{16}\.zip$/);
      assert.deepEqual(await uploadService(echo, REPO_ROOT, blob), up, "idempotent");
      const models = (await uploadService(regressor, REPO_ROOT, blob)).models;
      const ctx = await bootstrap({ storage: { kind: "connectionString", connectionString: azurite.connectionString }, packageBlob: up.packageBlob, models, workDir: tempDir("work") });
      const server = await start(new OnnxHandler(ctx));
      await server.initialize();
      assert.ok(Math.abs(((await post(server, { data: [[1, 2, 3, 4]] })).json.output as number[][])[0][0] - regressorOutput([1, 2, 3, 4])) < 1e-5);
      const entry = await start(new EntryScriptHandler(path.join(ctx.projectDir, "score.js"), ctx));
      await entry.initialize();
      assert.match(String((await post(entry, { message: "x" })).json.greeting), /1 models/);
    });

    it("appends inputs, outputs and request ids to the documented blob layout, flushed on shutdown", async () => {
      const collector = new DataCollector(blob.getContainerClient(BLOB_CONTAINERS.modelData), log, { flushIntervalMs: 60_000 });
      const server = await startScoringServer({ service: "collect", replica: "r9", handler: new OnnxHandler({ modelDir: "", models: { regressor: MODEL } }), log, collector });
      await server.initialize();
      await post(server, { data: [[1, 2, 3, 4]] });
      await post(server, { data: [[1, 2, 3]] });
      await server.close(); // the only flush: the interval is a minute
      const name = recordBlobName("collect", "r9", new Date());
      assert.match(name, /^collect\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/r9\.jsonl$/);
      const text = (await blob.getContainerClient(BLOB_CONTAINERS.modelData).getBlobClient(name).downloadToBuffer()).toString();
      const records = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(records.length, 2);
      assert.deepEqual([records[0].requestId, records[0].status, records[0].input], ["rid-1", 200, { data: [[1, 2, 3, 4]] }]);
      assert.ok(Array.isArray((records[0].output as { output: unknown }).output));
      assert.equal(records[1].status, 400, "rejected requests are collected too");
    });
  });
});
