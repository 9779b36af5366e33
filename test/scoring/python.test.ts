/**
 * Python entry scripts through the real bridge (scoring/python/worker.py under Debian's
 * /usr/bin/python3): the answers of Azure ML's scoring server (azureml-inference-server-http
 * 1.5.x) for plain, schema-decorated and @rawhttp scripts, and the worker pool's failure handling.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { requestIdHeaders } from "../../core/contracts/amlScoring";
import { FrameReader, PythonHandler, type PythonHandlerOptions } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { tempDir } from "../support/tmp";

const PYTHON = "/usr/bin/python3";
const log = pino({ level: "silent" });

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

async function call(server: ScoringServer, init: RequestInit & { path?: string } = {}): Promise<Answer> {
  const res = await fetch(`${server.url}${init.path ?? "/score"}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

const postJson = (server: ScoringServer, body: unknown, headers: Record<string, string> = {}) =>
  call(server, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

/** A project folder with `score.py` (and other files) and a model folder in Azure ML's layout. */
function project(files: Record<string, string>): { appRoot: string; modelsRoot: string; modelDir: string } {
  const work = tempDir("py");
  const appRoot = path.join(work, "project");
  const modelsRoot = path.join(work, "azureml-models");
  const modelDir = path.join(modelsRoot, "mymodel", "3");
  mkdirSync(appRoot, { recursive: true });
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(path.join(modelDir, "model.json"), JSON.stringify({ factor: 2 }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(appRoot, name)), { recursive: true });
    writeFileSync(path.join(appRoot, name), text);
  }
  return { appRoot, modelsRoot, modelDir };
}

describe("Python bridge framing", () => {
  it("reassembles frames split anywhere, keeping bodies as slices of the received chunks", () => {
    const frame = (header: object, body: Buffer) => {
      const json = Buffer.from(JSON.stringify({ ...header, size: body.length }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(json.length);
      return Buffer.concat([len, json, body]);
    };
    const stream = Buffer.concat([frame({ op: "a" }, Buffer.from("hello")), frame({ op: "b" }, Buffer.alloc(0)), frame({ op: "c" }, Buffer.from([0, 255, 10]))]);
    for (const step of [1, 3, 7, stream.length]) {
      const got: string[] = [];
      const reader = new FrameReader((f) => got.push(`${String(f.header.op)}:${Buffer.concat(f.body).toString("hex")}`));
      for (let i = 0; i < stream.length; i += step) reader.push(stream.subarray(i, i + step));
      assert.deepEqual(got, ["a:68656c6c6f", "b:", "c:00ff0a"], `chunks of ${step} bytes`);
    }
  });
});

describe("request-id headers as Azure ML's scoring server sets them", () => {
  const ids = (given: Record<string, string>) => requestIdHeaders((n) => given[n], () => "new-uuid");
  it("derives x-request-id, x-ms-request-id and x-ms-client-request-id from what the caller sent", () => {
    assert.deepEqual(ids({}).headers, [["x-request-id", "new-uuid"], ["x-ms-request-id", "new-uuid"]]);
    assert.deepEqual(ids({ "x-request-id": "r" }).headers, [["x-request-id", "r"], ["x-ms-request-id", "r"]]);
    assert.deepEqual(ids({ "x-ms-request-id": "legacy" }).headers, [["x-request-id", "new-uuid"], ["x-ms-request-id", "legacy"], ["x-ms-client-request-id", "legacy"]]);
    assert.deepEqual(ids({ "x-ms-client-request-id": "c" }).headers, [["x-request-id", "new-uuid"], ["x-ms-request-id", "c"], ["x-ms-client-request-id", "c"]]);
    assert.deepEqual(ids({ traceid: "t-1" }).headers, [["x-request-id", "new-uuid"], ["x-ms-request-id", "new-uuid"], ["TraceId", "t-1"]], "TraceId echoed");
  });
  it("refuses ids over 100 characters with 431", () => {
    assert.equal(ids({ "x-request-id": "x".repeat(101) }).error?.status, 431);
    assert.equal(ids({ "x-ms-client-request-id": "x".repeat(101) }).error?.status, 431);
    assert.equal(ids({ "x-request-id": "x".repeat(100) }).error, undefined);
  });
});

describe("Python entry scripts (Azure ML scoring contract)", function () {
  this.timeout(60_000);
  const open: { server: ScoringServer }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map(({ server }) => server.close()));
  });

  async function serve(files: Record<string, string>, opts: Partial<PythonHandlerOptions> = {}): Promise<{ server: ScoringServer; handler: PythonHandler; dirs: ReturnType<typeof project> }> {
    const dirs = project(files);
    const handler = new PythonHandler({
      python: PYTHON,
      appRoot: dirs.appRoot,
      entryScript: "score.py",
      models: { modelDir: dirs.modelDir, models: { mymodel: path.join(dirs.modelDir, "model.json") } },
      modelsRoot: dirs.modelsRoot,
      service: "pysvc",
      workers: 1,
      scoringTimeoutMs: 30_000,
      log,
      ...opts,
    });
    const server = await startScoringServer({ service: "pysvc", replica: "r1", handler, log });
    open.push({ server });
    await server.initialize();
    return { server, handler, dirs };
  }

  describe("plain run(raw_data)", () => {
    const PLAIN = `
import json, os
from azureml.core.model import Model
from azureml.monitoring import ModelDataCollector

inputs_dc = ModelDataCollector("mymodel", designation="inputs", feature_names=["a"])

def init():
    global factor, where
    where = Model.get_model_path("mymodel")
    factor = json.load(open(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.json")))["factor"]

def run(data):
    if data == "text":
        return "a string"
    if data == "none":
        return None
    if data == "cwd":
        import sys
        return {"cwd": os.getcwd(), "first": sys.path[0], "last_is_compat": sys.path[-1].endswith("compat"), "entry": os.environ["AZUREML_ENTRY_SCRIPT"], "app_root": os.environ["AML_APP_ROOT"], "model_path": where, "secret": "AKS_INFERENCE_STORAGE_CONNECTION_STRING" in os.environ}
    if data.startswith("{") and json.loads(data).get("boom"):
        raise ValueError("kaboom")
    if data.startswith("{") and json.loads(data).get("numpy"):
        import numpy
        return numpy.array([1, 2])
    if data.startswith("{") and "q" not in data:
        inputs_dc.collect(json.loads(data)["data"])
        return {"doubled": [x * factor for x in json.loads(data)["data"]], "ünï": "é"}
    return {"raw": data}
`;

    it("passes the body as UTF-8 text and answers json.dumps of the result with the upstream headers", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const a = await postJson(server, { data: [1, 2.5] }, { "x-ms-client-request-id": "client-1" });
      assert.equal(a.status, 200);
      // json.dumps: ", " / ": " separators and \u escapes, exactly.
      assert.equal(a.text, '{"doubled": [2, 5.0], "\\u00fcn\\u00ef": "\\u00e9"}');
      assert.equal(a.headers.get("content-type"), "application/json");
      assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
      assert.match(a.headers.get("x-ms-run-fn-exec-ms") ?? "", /^\d+\.\d{3}$/);
      assert.equal(a.headers.get("x-ms-client-request-id"), "client-1");
      assert.equal(a.headers.get("x-ms-request-id"), "client-1");
      assert.match(a.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    });

    it("answers 400 to JSON nested deeper than the limit, before the script recurses into it", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const deep = `{"data": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
      const r = await call(server, { method: "POST", body: deep, headers: { "content-type": "application/json" } });
      assert.equal(r.status, 400);
      assert.deepEqual(JSON.parse(r.text), { message: "request body nests JSON deeper than 512 levels" });
      assert.equal((await postJson(server, { data: [1] })).status, 200, "the worker is untouched");
    });

    it("serialises a returned str as a JSON string and None as {}", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const s = await call(server, { method: "POST", body: "text" });
      assert.equal(s.status, 200);
      assert.equal(s.text, '"a string"');
      const n = await call(server, { method: "POST", body: "none" });
      assert.equal(n.text, "{}");
    });

    it("answers 400 for a body that is not UTF-8, naming the decoding error", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const a = await call(server, { method: "POST", body: Buffer.from([0x7b, 0xff, 0xfe]) });
      assert.equal(a.status, 400);
      assert.match((a.json() as { message: string }).message, /^Input cannot be decoded as UTF-8: 'utf-8' codec can't decode byte 0xff/);
      assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
    });

    it("passes a GET's query parameters as JSON text (values parsed as JSON, repeats as lists)", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const a = await call(server, { path: "/score?q=1&b=[1,2]&c=x&c=y&bad=%ff" });
      assert.equal(a.status, 200);
      // A value that is not UTF-8 stays percent-encoded, as Werkzeug decodes it.
      assert.deepEqual(a.json(), { raw: '{"q": 1, "b": [1, 2], "c": ["x", "y"], "bad": "%FF"}' });
    });

    it("answers an exception in run() with 500, upstream's message and x-ms-run-function-failed: True, and keeps serving", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const a = await postJson(server, { boom: true });
      assert.equal(a.status, 500);
      assert.deepEqual(a.json(), { message: "An unexpected error occurred in scoring script. Check the logs for more info." });
      assert.equal(a.headers.get("x-ms-run-function-failed"), "True");
      assert.equal(a.headers.get("x-ms-run-fn-exec-ms"), null, "upstream adds the exec time to run()'s own answers only");
      assert.equal((await postJson(server, { data: [1] })).status, 200);
    });

    it("answers a result json.dumps cannot serialise (a numpy array) with upstream's internal-error 500", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const a = await postJson(server, { numpy: true });
      assert.equal(a.status, 500);
      assert.deepEqual(a.json(), { message: "An unexpected internal error occurred. Check the logs for more info." });
      assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
    });

    it("runs with the script folder as cwd and first on sys.path, the compat package last, Azure ML's variables, no replica secrets", async () => {
      process.env.AKS_INFERENCE_STORAGE_CONNECTION_STRING = "secret";
      try {
        const { server, dirs } = await serve({ "score.py": PLAIN });
        const a = (await call(server, { method: "POST", body: "cwd" })).json() as Record<string, unknown>;
        assert.equal(a.cwd, dirs.appRoot);
        assert.equal(a.first, dirs.appRoot);
        assert.equal(a.last_is_compat, true);
        assert.equal(a.entry, "score.py");
        assert.equal(a.app_root, dirs.appRoot);
        assert.equal(a.model_path, path.join(dirs.appRoot, "azureml-models", "mymodel", "3", "model.json"), "Model.get_model_path: <root>/<name>/<latest version>/<only entry>");
        assert.equal(a.secret, false);
      } finally {
        delete process.env.AKS_INFERENCE_STORAGE_CONNECTION_STRING;
      }
    });

    it("answers other methods 405 and unknown paths 404 in upstream's {\"message\"} form; OPTIONS 200 empty", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const put = await call(server, { method: "PUT", body: "x" });
      assert.equal(put.status, 405);
      assert.deepEqual(put.json(), { message: "The method is not allowed for the requested URL." });
      assert.equal((await call(server, { path: "/score/", method: "POST", body: "x" })).status, 404, "a trailing slash is another route");
      const nf = await call(server, { path: "/nope" });
      assert.equal(nf.status, 404);
      assert.match((nf.json() as { message: string }).message, /^The requested URL was not found on the server/);
      const opt = await call(server, { method: "OPTIONS" });
      assert.equal(opt.status, 200);
      assert.equal(opt.text, "");
      const health = await call(server, { path: "/" });
      assert.equal(health.text, "Healthy");
      const long = await postJson(server, { data: [1] }, { "x-request-id": "x".repeat(101) });
      assert.equal(long.status, 431);
    });

    it("answers the undecorated swagger (empty object schemas) for versions 2 and 3, 404 for others", async () => {
      const { server } = await serve({ "score.py": PLAIN });
      const v2 = (await call(server, { path: "/swagger.json" })).json() as { swagger: string; definitions: Record<string, unknown>; paths: Record<string, unknown> };
      assert.equal(v2.swagger, "2.0");
      assert.deepEqual(v2.definitions.ServiceInput, { type: "object", example: {} });
      assert.ok(v2.paths["/api/v1/service/pysvc/score"]);
      const v3 = (await call(server, { path: "/swagger.json?version=3" })).json() as { openapi: string };
      assert.equal(v3.openapi, "3.0.3");
      const bad = await call(server, { path: "/swagger.json?version=4" });
      assert.equal(bad.status, 404);
      assert.deepEqual(bad.json(), { message: "Swagger version [4] is not valid. Supported versions: [2, 3, 3.1]." });
    });
  });

  describe("request_headers, schema decorators, @rawhttp", () => {
    it("passes the request headers (Flask's title-cased names) to a run() that declares request_headers", async () => {
      const { server } = await serve({ "score.py": "def init(): pass\ndef run(raw, request_headers):\n    return {'h': request_headers.get('X-Custom-Thing'), 'ct': request_headers.get('Content-Type')}\n" });
      const a = await postJson(server, {}, { "x-custom-thing": "v1" });
      assert.deepEqual(a.json(), { h: "v1", ct: "application/json" });
    });

    const SCHEMA = `
import numpy as np
import pandas as pd
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

def init():
    pass

@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
@input_schema("frame", PandasParameterType(pd.DataFrame({"a": [1], "b": ["x"]})))
@input_schema("scale", StandardPythonParameterType(2.0))
@output_schema(StandardPythonParameterType({"sum": 1.0}))
def run(data, frame, scale=1.0):
    assert isinstance(data, np.ndarray) and data.dtype == np.float64
    assert isinstance(frame, pd.DataFrame)
    return {"sum": float(data.sum()) * scale, "rows": len(frame), "a": int(frame["a"].sum())}
`;

    it("converts the JSON object's keys into numpy / pandas / standard arguments", async () => {
      const { server } = await serve({ "score.py": SCHEMA });
      const a = await postJson(server, { data: [[1, 2, 3], [4, 5, 6]], frame: [{ a: 1, b: "x" }, { a: 2, b: "y" }], scale: 2 });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(a.json(), { sum: 42.0, rows: 2, a: 3 });
    });

    it("answers 400 naming a missing key, 415 for a non-JSON content type, 400 for a non-object body", async () => {
      const { server } = await serve({ "score.py": SCHEMA });
      const missing = await postJson(server, { data: [[1, 2, 3]] });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.json(), { message: "A value is not provided for the 'frame' parameter." });
      const type = await call(server, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
      assert.equal(type.status, 415);
      assert.deepEqual(type.json(), { message: "Expects Content-Type to be application/json" });
      const list = await postJson(server, [1, 2]);
      assert.deepEqual([list.status, list.json()], [400, { message: "POST body should be a JSON dictionary." }]);
      const empty = await postJson(server, "");
      assert.deepEqual([empty.status, empty.json()], [400, { message: "POST body is empty. Expecting a JSON dictionary." }]);
    });

    it("answers a conversion error inside the decorator (wrong shape) with the run-function 500", async () => {
      const { server } = await serve({ "score.py": SCHEMA });
      const a = await postJson(server, { data: [[1, 2]], frame: [{ a: 1, b: "x" }] });
      assert.equal(a.status, 500);
      assert.equal(a.headers.get("x-ms-run-function-failed"), "True");
    });

    it("generates swagger from the schema, and prefers the project's own swagger.json", async () => {
      const { server } = await serve({ "score.py": SCHEMA });
      const doc = (await call(server, { path: "/swagger.json?version=3" })).json() as { components: { schemas: Record<string, { properties?: Record<string, { format?: string; type?: string }>; example?: Record<string, unknown> }> } };
      const input = doc.components.schemas.ServiceInput;
      assert.equal(input.properties?.data.format, "numpy.ndarray");
      assert.equal(input.properties?.frame.format, "pandas.DataFrame:records");
      assert.equal(input.properties?.scale.type, "number");
      assert.deepEqual(input.example?.data, [[1.0, 2.0, 3.0]]);
      assert.equal(doc.components.schemas.ServiceOutput.properties?.sum.type, "number");
      const raw = await call(server, { path: "/swagger.json?version=3" });
      assert.match(raw.text, /"example": \{"data": \[\[1\.0, 2\.0, 3\.0\]\]/, "numbers as Python writes them");

      const own = await serve({ "score.py": SCHEMA, "swagger.json": JSON.stringify({ swagger: "2.0", info: { title: "mine" } }) });
      assert.deepEqual((await call(own.server, { path: "/swagger.json?version=2" })).json(), { swagger: "2.0", info: { title: "mine" } });
    });

    it("gives a @rawhttp run() the request and sends its AMLResponse as is", async () => {
      const RAW = `
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse

def init():
    pass

@rawhttp
def run(request):
    if request.method == "GET":
        return {"args": request.args.get("x"), "full_path": request.full_path, "host_url": request.host_url, "url_root": request.url_root}
    if request.headers.get("X-Fail"):
        return AMLResponse("bad thing", 503)
    body = request.get_data()
    return AMLResponse(body[::-1], 201, {"Content-Type": "application/octet-stream", "X-Many": "a, b"})
`;
      const { server } = await serve({ "score.py": RAW });
      const a = await call(server, { method: "POST", body: Buffer.from([1, 2, 3, 255]) });
      assert.equal(a.status, 201);
      assert.deepEqual([...Buffer.from(await (await fetch(`${server.url}/score`, { method: "POST", body: Buffer.from([1, 2, 3, 255]) })).arrayBuffer())], [255, 3, 2, 1]);
      assert.equal(a.headers.get("content-type"), "application/octet-stream");
      assert.equal(a.headers.get("x-many"), "a, b", "one header per comma-separated value");
      assert.equal(a.headers.get("x-ms-run-function-failed"), "False");
      assert.ok(a.headers.get("x-ms-run-fn-exec-ms"));
      const g = await call(server, { path: "/score?x=7" });
      const host = new URL(server.url).host;
      assert.deepEqual(g.json(), { args: "7", full_path: "/score?x=7", host_url: `http://${host}/`, url_root: `http://${host}/` });
      const f = await call(server, { method: "POST", headers: { "x-fail": "1" }, body: "x" });
      assert.equal(f.status, 503);
      assert.equal(f.text, "bad thing");
      assert.equal(f.headers.get("x-ms-run-function-failed"), "True", "a 5xx answer of run() is marked failed");
    });
  });

  describe("worker pool", () => {
    it("keeps print() floods out of the protocol (they go to the log)", async () => {
      const lines: string[] = [];
      const capture = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
      const { server } = await serve(
        { "score.py": "import sys\ndef init(): print('hello from init')\ndef run(d):\n    for i in range(20000): print('noise', i, '\\x00\\xff{}')\n    sys.stderr.write('err line\\n')\n    return {'ok': len(d)}\n" },
        { log: capture },
      );
      for (let i = 0; i < 3; i++) assert.deepEqual((await call(server, { method: "POST", body: "abc" })).json(), { ok: 3 });
      await new Promise((r) => setTimeout(r, 200));
      const text = lines.join("");
      assert.match(text, /hello from init/);
      assert.match(text, /noise 19999/);
      assert.match(text, /err line/);
    });

    it("answers 502 to the request whose worker died, restarts it (init() again) and serves the next", async () => {
      const { server, handler, dirs } = await serve({
        // A restarted worker's init() takes a second, so the replica is seen not ready meanwhile.
        "score.py": "import os, time\ndef init():\n    open('inits.log', 'a').write('x')\n    if os.path.exists('died'):\n        time.sleep(1.5)\ndef run(d):\n    if d == 'die':\n        open('died', 'w').close()\n        os._exit(9)\n    if d == 'slow':\n        time.sleep(1)\n    return {'pid': os.getpid()}\n",
      }, { workers: 2 });
      const before = handler.pids();
      const [died, fine] = await Promise.all([call(server, { method: "POST", body: "die" }), call(server, { method: "POST", body: "slow" })]);
      assert.equal(died.status, 502);
      assert.match((died.json() as { message: string }).message, /exited \(code 9\)/);
      assert.equal(fine.status, 200, "the other worker's request is untouched");
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503, "not ready while the worker restarts");
      for (let i = 0; i < 100 && !handler.healthy(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.notDeepEqual(handler.pids(), before);
      assert.equal((await call(server, { method: "POST", body: "ok" })).status, 200);
      assert.equal(readFileSync(path.join(dirs.appRoot, "inits.log"), "utf8"), "xxx", "init() ran once per worker and once more on restart");
    });

    it("answers 502 when the worker is killed from outside mid-request (e.g. the OOM killer)", async () => {
      const { server, handler } = await serve({ "score.py": "import time\ndef init(): pass\ndef run(d):\n    if d == 'slow':\n        time.sleep(5)\n    return 'ok'\n" });
      const pending = call(server, { method: "POST", body: "slow" });
      await new Promise((r) => setTimeout(r, 300));
      process.kill(handler.pids()[0], "SIGKILL");
      const a = await pending;
      assert.equal(a.status, 502);
      assert.match((a.json() as { message: string }).message, /exited \(signal SIGKILL\)/);
      for (let i = 0; i < 100 && !handler.healthy(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await call(server, { method: "POST", body: "x" })).text, '"ok"');
    });

    it("takes its workers down with it when the scoring server process is killed, even a busy one", async () => {
      const dirs = project({ "score.py": "def init(): pass\ndef run(d):\n    while True: pass\n" });
      const pidFile = path.join(dirs.appRoot, "pids");
      // A separate scoring server process, SIGKILLed while its worker spins in run().
      const child = spawn(process.execPath, ["--import", "tsx", "-e", `
        const { PythonHandler } = require(${JSON.stringify(path.join(__dirname, "../../scoring/pythonHandler.ts"))});
        const pino = require("pino");
        const h = new PythonHandler({ python: "${PYTHON}", appRoot: ${JSON.stringify(dirs.appRoot)}, entryScript: "score.py", models: { modelDir: "", models: {} }, modelsRoot: ${JSON.stringify(dirs.modelsRoot)}, service: "s", workers: 1, scoringTimeoutMs: 600000, log: pino({ level: "silent" }) });
        h.init().then(() => { require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(h.pids()[0])); return h.score({ method: "POST", path: "/score", query: "", headers: [], body: [Buffer.from("x")], bodyLength: 1 }); });
      `], { stdio: "inherit" });
      let worker = 0;
      for (let i = 0; i < 200 && !worker; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          worker = Number(readFileSync(pidFile, "utf8"));
        } catch {
          // not written yet
        }
      }
      assert.ok(worker > 0, "the worker started");
      await new Promise((r) => setTimeout(r, 200));
      child.kill("SIGKILL");
      const alive = () => {
        try {
          process.kill(worker, 0);
          return !/^State:\s+Z/m.test(readFileSync(`/proc/${worker}/status`, "utf8"));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(), false, "the spinning worker is gone");
    });

    it("treats a script writing on the protocol's fd as a crash: 502 for that request, worker restarted", async () => {
      const { server } = await serve({ "score.py": "import os\ndef init(): pass\ndef run(d):\n    if d == 'scribble':\n        os.write(4, b'\\xff\\xff\\xff\\xffgarbage')\n    return 'ok'\n" });
      assert.equal((await call(server, { method: "POST", body: "scribble" })).status, 502);
      for (let i = 0; i < 100 && (await fetch(`${server.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await call(server, { method: "POST", body: "x" })).text, '"ok"');
    });

    it("kills and restarts a worker whose run() passes the scoring timeout, answering upstream's timeout 500", async () => {
      const { server } = await serve({ "score.py": "import time\ndef init(): pass\ndef run(d):\n    if d == 'hang':\n        while True: pass\n    return 'ok'\n" }, { scoringTimeoutMs: 500 });
      const started = Date.now();
      const a = await call(server, { method: "POST", body: "hang" });
      assert.equal(a.status, 500);
      assert.deepEqual(a.json(), { message: "Scoring timeout after 500 ms" });
      assert.equal(a.headers.get("x-ms-run-function-failed"), "True");
      assert.ok(Date.now() - started < 5_000);
      assert.equal((await call(server, { method: "POST", body: "x" })).text, '"ok"');
    });

    it("fails init() with the Python traceback as the reason", async () => {
      const dirs = project({ "score.py": "def init():\n    open('/nonexistent/model.pkl')\ndef run(d): return d\n" });
      const handler = new PythonHandler({ python: PYTHON, appRoot: dirs.appRoot, entryScript: "score.py", models: { modelDir: dirs.modelDir, models: {} }, modelsRoot: dirs.modelsRoot, service: "pysvc", workers: 1, scoringTimeoutMs: 1000, log });
      const server = await startScoringServer({ service: "pysvc", replica: "r1", handler, log });
      open.push({ server });
      await assert.rejects(server.initialize(), (err: Error) => {
        assert.match(err.message, /Traceback \(most recent call last\)/);
        assert.match(err.message, /line 2, in init/);
        assert.match(err.message, /FileNotFoundError: \[Errno 2\] No such file or directory: '\/nonexistent\/model.pkl'/);
        return true;
      });
      assert.equal(server.state(), "failed");
    });

    it("fails init() naming the interpreter when it cannot be started", async () => {
      const dirs = project({ "score.py": "def init(): pass\ndef run(d): return d\n" });
      const handler = new PythonHandler({ python: "/nonexistent/python3", appRoot: dirs.appRoot, entryScript: "score.py", models: { modelDir: dirs.modelDir, models: {} }, modelsRoot: dirs.modelsRoot, service: "pysvc", workers: 1, scoringTimeoutMs: 1000, log });
      await assert.rejects(handler.init(), /cannot start the Python interpreter '\/nonexistent\/python3' \(AKS_INFERENCE_PYTHON\): spawn \/nonexistent\/python3 ENOENT/);
    });

    it("carries a 100 MB body through the bridge without a second copy in either process", async function () {
      this.timeout(120_000);
      const { server, handler } = await serve({ "score.py": "def init(): pass\ndef run(d):\n    return {'n': len(d), 'last': d[-1]}\n" });
      const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
      const hwm = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
      const [pid] = handler.pids();
      const worker0 = rss(pid);
      const size = 100 * 1024 * 1024;
      const server0 = process.memoryUsage().rss;
      // The client is another process, so this one's memory is the server's alone.
      const client = spawn(
        process.execPath,
        ["-e", `const r = require("http").request("${server.url}/score", { method: "POST", headers: { "content-length": ${size} } }, (res) => { let t = ""; res.on("data", (c) => (t += c)); res.on("end", () => process.stdout.write(t)); });
          const chunk = Buffer.alloc(1 << 20, 0x61); let n = 0; const more = () => { while (n < ${size / 2 ** 20}) { n++; if (!r.write(chunk)) return void r.once("drain", more); } r.end(); }; more();`],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      client.stdout.on("data", (c: Buffer) => (out += c.toString()));
      await new Promise((r) => client.once("exit", r));
      assert.deepEqual(JSON.parse(out), { n: size, last: "a" });
      const workerGrowth = hwm(pid) - worker0;
      const serverGrowth = process.memoryUsage().rss - server0;
      // The worker holds the bytes once and the str run() must get once (2 × 100 MB); a base64
      // frame or a joined copy would add 100 MB or more.
      assert.ok(workerGrowth < 2.5 * size, `worker grew ${Math.round(workerGrowth / 2 ** 20)} MiB`);
      // The server holds the received chunks once; a concatenated copy would add 100 MB.
      assert.ok(serverGrowth < 1.6 * size, `server grew ${Math.round(serverGrowth / 2 ** 20)} MiB`);
    });
  });
});
