/**
 * Application Insights records of a replica (scoring/telemetry.ts) as Azure Monitor's exporter
 * sends them: a local HTTPS server (the exporter sends to https:// whatever the connection string
 * says; a throw-away certificate) stands in for the ingestion endpoint of the connection string,
 * and a JavaScript and a Python service (printing in init() and run()) are scored through the
 * real scoring server. Records must carry the request's ids and trace, and never a key or a body.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import pino from "pino";
import { EntryScriptHandler, type HttpHandler, type ScoringHandler } from "../../scoring/handlers";
import { PythonHandler } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { Telemetry } from "../../scoring/telemetry";
import { tempDir } from "../support/tmp";

const log = pino({ level: "silent" });
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const KEY = "KEY-SENTINEL-9f3a";
const BODY = "BODY-SENTINEL-7c1e";

/** One Application Insights envelope, as the exporter posts them. */
interface Envelope {
  name: string;
  tags: Record<string, string>;
  data: { baseType: string; baseData: { id?: string; name?: string; responseCode?: string; success?: boolean; duration?: string; message?: string; properties?: Record<string, string>; exceptions?: { typeName: string; message: string; stack?: string }[] } };
}

/** The stand-in ingestion endpoint: keeps every envelope posted to /v2.1/track and the raw text of each payload. */
async function ingestion(): Promise<{ url: string; ca: string; envelopes: Envelope[]; raw: string[]; close(): Promise<void> }> {
  const envelopes: Envelope[] = [];
  const raw: string[] = [];
  const dir = tempDir("ingestion");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "tls.key"), "-out", path.join(dir, "tls.crt")], { stdio: "ignore" });
  const ca = readFileSync(path.join(dir, "tls.crt"), "utf8");
  const server = https.createServer({ cert: ca, key: readFileSync(path.join(dir, "tls.key")) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const text = body.toString("utf8");
      if (req.method === "POST" && req.url === "/v2.1/track") {
        raw.push(text);
        const items = JSON.parse(text) as Envelope[];
        envelopes.push(...items);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}/`, ca, envelopes, raw, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const requests = (e: Envelope[]) => e.filter((x) => x.data.baseType === "RequestData");
const traces = (e: Envelope[]) => e.filter((x) => x.data.baseType === "MessageData");
const exceptions = (e: Envelope[]) => e.filter((x) => x.data.baseType === "ExceptionData");

async function score(server: ScoringServer, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${server.url}/score`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, ...headers }, body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

describe("Application Insights records of a replica", function () {
  this.timeout(30_000);
  let sink: Awaited<ReturnType<typeof ingestion>>;
  const open: { server?: ScoringServer; telemetry: Telemetry }[] = [];
  before(async () => {
    sink = await ingestion();
  });
  beforeEach(() => {
    sink.envelopes.length = 0;
    sink.raw.length = 0;
  });
  afterEach(async () => {
    for (const { server, telemetry } of open.splice(0)) {
      await server?.close();
      await telemetry.shutdown();
    }
  });
  after(() => sink.close());

  /** A scoring server for the handler `make` gives, with telemetry to the stand-in; `init` false: init() is the test's to run. */
  async function serve(make: (t: Telemetry) => ScoringHandler | HttpHandler, init = true): Promise<{ server: ScoringServer; telemetry: Telemetry }> {
    const telemetry = Telemetry.create({ service: "svc", replica: "r1", connectionString: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${sink.url}`, http: { tlsOptions: { ca: sink.ca } } })!;
    const handler = make(telemetry);
    const server = await startScoringServer({ service: "svc", replica: "r1", handler, log, telemetry });
    open.push({ server, telemetry });
    if (init) await server.initialize();
    return { server, telemetry };
  }

  /** Flushes the records (what the replica does when it ends) and returns what the endpoint got. */
  async function flushed(telemetry: Telemetry): Promise<Envelope[]> {
    await telemetry.shutdown();
    return sink.envelopes;
  }

  function assertNoSecrets(): void {
    const all = sink.raw.join("\n");
    assert.ok(all.length > 0, "the endpoint got records");
    assert.ok(!all.includes(KEY), "no key in any record");
    assert.ok(!all.includes(BODY), "no request body in any record");
  }

  it("JavaScript: a request record with the router's trace and the request id, its printed lines and its run() error in the same operation", async () => {
    const dir = tempDir("telemetry-js");
    writeFileSync(
      path.join(dir, "score.js"),
      `exports.init = () => { console.log("loading the model"); };
exports.run = async (input) => {
  console.log("scoring", input.rows.length, "rows");
  await new Promise((r) => setTimeout(r, 5));
  console.error("second line after an await");
  if (input.fail) throw new Error("model exploded");
  return { n: input.rows.length };
};`,
    );
    const { server, telemetry } = await serve((t) => {
      t.captureConsole();
      return new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} });
    });
    assert.equal(await score(server, { rows: [BODY, 2] }, { traceparent: `00-${TRACE}-${PARENT}-01`, "x-ms-request-id": "req-ok", "azureml-model-deployment": "blue" }), 200);
    assert.equal(await score(server, { rows: [BODY], fail: true }, { "x-ms-request-id": "req-fail" }), 500);
    const all = await flushed(telemetry);

    const [ok, failed] = ["req-ok", "req-fail"].map((id) => requests(all).find((r) => r.data.baseData.properties?.["x-ms-request-id"] === id)!);
    assert.ok(ok && failed, `request records: ${JSON.stringify(requests(all).map((r) => r.data.baseData.properties))}`);
    assert.equal(ok.tags["ai.operation.id"], TRACE, "the record's operation is the caller's W3C trace");
    assert.equal(ok.tags["ai.operation.parentId"], PARENT);
    assert.equal(ok.tags["ai.cloud.role"], "svc");
    assert.deepEqual([ok.data.baseData.name, ok.data.baseData.responseCode, ok.data.baseData.success], ["POST /score", "200", true]);
    assert.deepEqual({ service: ok.data.baseData.properties?.service, version: ok.data.baseData.properties?.version }, { service: "svc", version: "blue" });
    assert.match(ok.data.baseData.duration ?? "", /^00:00:00\.\d+$/);
    assert.deepEqual([failed.data.baseData.responseCode, failed.data.baseData.success], ["500", false]);
    assert.match(failed.tags["ai.operation.id"], /^[0-9a-f]{32}$/);
    assert.notEqual(failed.tags["ai.operation.id"], TRACE, "a request without traceparent starts its own trace");

    const lines = (r: Envelope) => traces(all).filter((t) => t.tags["ai.operation.id"] === r.tags["ai.operation.id"] && t.tags["ai.operation.parentId"] === r.data.baseData.id).map((t) => t.data.baseData.message);
    assert.deepEqual(lines(ok), ["scoring 2 rows", "second line after an await"], "lines printed in run(), across an await, belong to the request");
    assert.deepEqual(lines(failed), ["scoring 1 rows", "second line after an await"]);
    const init = traces(all).find((t) => t.data.baseData.message === "loading the model");
    assert.ok(init, "init()'s line is a trace record");
    assert.equal(init.tags["ai.operation.id"], undefined, "outside any request");
    assert.equal(init.data.baseData.properties?.phase, "init");

    const [error] = exceptions(all);
    assert.equal(exceptions(all).length, 1);
    assert.equal(error.tags["ai.operation.id"], failed.tags["ai.operation.id"]);
    assert.equal(error.tags["ai.operation.parentId"], failed.data.baseData.id);
    assert.deepEqual([error.data.baseData.exceptions?.[0].typeName, error.data.baseData.exceptions?.[0].message], ["Error", "model exploded"]);
    assertNoSecrets();
  });

  it("JavaScript: an init() failure is an exception record", async () => {
    const dir = tempDir("telemetry-js-init");
    writeFileSync(path.join(dir, "score.js"), `exports.init = () => { throw new TypeError("no model file"); }; exports.run = () => 1;`);
    const { server, telemetry } = await serve(() => new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} }), false);
    await assert.rejects(server.initialize(), /no model file/);
    const [error] = exceptions(await flushed(telemetry));
    assert.deepEqual([error?.data.baseData.exceptions?.[0].typeName, error?.data.baseData.exceptions?.[0].message, error?.data.baseData.properties?.phase], ["TypeError", "no model file", "init"]);
  });

  describe("Python", () => {
    function pythonHandler(score: string, telemetry: Telemetry): PythonHandler {
      const work = tempDir("telemetry-py");
      const appRoot = path.join(work, "project");
      const modelDir = path.join(work, "azureml-models", "m", "1");
      mkdirSync(appRoot, { recursive: true });
      mkdirSync(modelDir, { recursive: true });
      writeFileSync(path.join(appRoot, "score.py"), score);
      return new PythonHandler({ python: "/usr/bin/python3", appRoot, entryScript: "score.py", models: { modelDir, models: {} }, modelsRoot: path.join(work, "azureml-models"), service: "svc", workers: 1, scoringTimeoutMs: 10_000, log, onOutput: (line, stream) => telemetry.trace(line, stream) });
    }

    it("a request record per request, print() lines of init() and run() as traces, a raised run() as an exception", async () => {
      const { server, telemetry } = await serve((t) =>
        pythonHandler(
          `import json, sys
def init():
    print("py init done")
def run(raw):
    data = json.loads(raw)
    print("py scoring", len(data["rows"]))
    print("py warning", file=sys.stderr)
    if data.get("fail"):
        raise ZeroDivisionError("division by zero")
    return {"n": len(data["rows"])}
`,
          t,
        ),
      );
      assert.equal(await score(server, { rows: [BODY] }, { traceparent: `00-${TRACE}-${PARENT}-01`, "x-ms-request-id": "py-ok" }), 200);
      assert.equal(await score(server, { rows: [BODY], fail: true }, { "x-ms-request-id": "py-fail" }), 500);
      const all = await flushed(telemetry);

      const [ok, failed] = ["py-ok", "py-fail"].map((id) => requests(all).find((r) => r.data.baseData.properties?.["x-ms-request-id"] === id)!);
      assert.ok(ok && failed, `request records: ${JSON.stringify(requests(all).map((r) => r.data.baseData.properties))}`);
      assert.equal(ok.tags["ai.operation.id"], TRACE);
      assert.equal(ok.tags["ai.operation.parentId"], PARENT);
      assert.deepEqual([ok.data.baseData.responseCode, failed.data.baseData.responseCode], ["200", "500"]);
      const lines = (r: Envelope) => traces(all).filter((t) => t.tags["ai.operation.parentId"] === r.data.baseData.id).map((t) => t.data.baseData.message ?? "");
      assert.deepEqual(lines(ok), ["py scoring 1", "py warning"]);
      assert.deepEqual(lines(failed).slice(0, 2), ["py scoring 1", "py warning"]);
      assert.ok(lines(failed).some((l) => l.startsWith("Traceback")), "the traceback's lines belong to the failed request");
      const init = traces(all).find((t) => t.data.baseData.message === "py init done");
      assert.ok(init && init.tags["ai.operation.id"] === undefined, "init()'s print is a trace outside any request");

      const [error] = exceptions(all);
      assert.equal(exceptions(all).length, 1);
      assert.equal(error.tags["ai.operation.parentId"], failed.data.baseData.id);
      assert.deepEqual([error.data.baseData.exceptions?.[0].typeName, error.data.baseData.exceptions?.[0].message], ["ZeroDivisionError", "division by zero"]);
      assert.match(error.data.baseData.exceptions?.[0].stack ?? "", /Traceback[\s\S]*raise ZeroDivisionError/);
      assertNoSecrets();
    });

    it("an init() failure is an exception record", async () => {
      const { server, telemetry } = await serve((t) => pythonHandler(`def init():\n    raise RuntimeError("cannot load")\ndef run(raw):\n    return 1\n`, t), false);
      await assert.rejects(server.initialize(), /cannot load/);
      const [error] = exceptions(await flushed(telemetry));
      assert.equal(error?.data.baseData.properties?.phase, "init");
      assert.match(error?.data.baseData.exceptions?.[0].message ?? "", /RuntimeError: cannot load/);
    });
  });

  it("local mode without a connection string: the same records go to a JSON Lines file", async () => {
    const file = path.join(tempDir("telemetry-file"), "telemetry", "svc.jsonl");
    const telemetry = Telemetry.create({ service: "svc", replica: "r1", file })!;
    const dir = tempDir("telemetry-js-file");
    writeFileSync(path.join(dir, "score.js"), `exports.run = (input) => { console.log("hello from run"); return input.rows.length; };`);
    telemetry.captureConsole();
    const server = await startScoringServer({ service: "svc", replica: "r1", handler: new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} }), log, telemetry });
    open.push({ server, telemetry });
    await server.initialize();
    assert.equal(await score(server, { rows: [BODY] }, { traceparent: `00-${TRACE}-${PARENT}-01`, "x-ms-request-id": "file-1" }), 200);
    await telemetry.shutdown();
    const text = readFileSync(file, "utf8");
    const records = text.trim().split("\n").map((l) => JSON.parse(l) as { type: string; operationId?: string; parentId?: string; id?: string; message?: string; properties: Record<string, string> });
    const request = records.find((r) => r.type === "request")!;
    assert.deepEqual([request.operationId, request.parentId, request.properties["x-ms-request-id"]], [TRACE, PARENT, "file-1"]);
    const line = records.find((r) => r.type === "trace")!;
    assert.deepEqual([line.message, line.operationId, line.parentId], ["hello from run", TRACE, request.id]);
    assert.ok(!text.includes(BODY) && !text.includes(KEY));
  });
});
