/**
 * A service's body limit is what its replica's memory holds (issue #27: a 20 MB ONNX batch took a
 * 0.5 GB replica to 807 MB, an OOM kill on AKS). For each handler, a real replica (the production
 * bundle, its own process) of a 0.25 GB service behind the router: a body just under the limit the
 * service's routing settings give is answered with the replica's process tree (Node and the Python
 * worker) within 0.25 GB at its peak; a body just over it is refused 413 by the router, naming the limit.
 * Bodies are the densest the bench measured for each handler (bench/replica-memory.ts).
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { request } from "undici";
import { stop, waitFor } from "../../bench/common";
import { resetTreePeak, treePeakBytes } from "../../bench/processTree";
import { ROWS, SCRIPTS, batch } from "../../bench/replica-memory";
import { parseStackConfig, versionsOf } from "../../core/config";
import { MAX_PAYLOAD_BYTES } from "../../core/decisions/payloadLimit";
import { routingSettings } from "../../core/contracts/routingSettings";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { EntryScriptHandler, OnnxHandler, ScoringError, tensorData } from "../../scoring/handlers";
import { pythonRuntimeDir } from "../../scoring/pythonHandler";
import { BUNDLES, bundleEntry } from "../../scripts/bundle";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith } from "../support/upstream";

const REPO = path.join(__dirname, "..", "..");
const MB = 1024 * 1024;
const MEMORY_GB = 0.25;
const PYTHON = "/usr/bin/python3";

describe("replica memory within the service's body limit", function () {
  this.timeout(30_000);
  const out = path.join(REPO, "test", "artifacts", "replica-memory");
  const bundle = path.join(out, "replica-process.js");
  let dir: string;
  let replica: ChildProcess | undefined;
  let router: RouterHandle | undefined;

  before(() => {
    mkdirSync(out, { recursive: true });
    bundleEntry(path.join(REPO, "bench", "replica-process.ts"), bundle, BUNDLES.scoring.external);
    // The worker sits next to the bundle, as in the environment image.
    cpSync(pythonRuntimeDir(), path.join(out, "python"), { recursive: true });
    dir = tempDir("memory");
    for (const [file, text] of Object.entries(SCRIPTS)) writeFileSync(path.join(dir, file), text);
  });
  afterEach(async () => {
    await router?.close();
    if (replica) await stop(replica);
    router = replica = undefined;
  });

  const cases = [
    { kind: "ONNX", service: { models: ["samples/models/regressor.onnx"] }, args: () => ["--onnx", path.join(REPO, "samples", "models", "regressor.onnx")], row: ROWS.digits },
    { kind: "JavaScript", service: { sourceDirectory: "p", entryScript: "score.js" }, args: () => ["--script", "score.js"], row: ROWS.digits },
    { kind: "Python", service: { sourceDirectory: "p", entryScript: "score.py" }, args: () => ["--script", "score.py", "--python", PYTHON], row: ROWS["short floats"] },
  ];
  for (const c of cases) {
    it(`${c.kind}: a body just under the limit stays within the service's memory; one over it is refused 413 with the limit`, async () => {
      const cfg = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": [{ name: "small", authEnabled: false, memoryGb: MEMORY_GB, ...c.service }] }, "t");
      const svc = cfg.services[0];
      const settings = routingSettings(svc, versionsOf(svc)[0], undefined, MAX_PAYLOAD_BYTES);
      const limit = settings.maxBodyBytes!;

      replica = spawn(process.execPath, [bundle, "--dir", dir, ...c.args()], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } });
      const url = (await waitFor(replica, /READY (http:\/\/\S+)/))[1];
      const discovery = new LocalDiscovery();
      discovery.upsertService(settings);
      discovery.addReplica("small", { id: "r1", url });
      router = await routerWith(discovery, new MemoryKeyStore());
      const score = async (body: Buffer) => {
        const res = await request(`${router!.url}/api/v1/service/small/score`, { method: "POST", body, headers: { "content-type": "application/json" } });
        return { status: res.statusCode, text: await res.body.text() };
      };

      assert.equal((await score(batch(0.001, c.row))).status, 200);
      await new Promise((r) => setTimeout(r, 200));
      resetTreePeak(replica.pid!);
      const under = batch((limit - 64) / MB, c.row);
      assert.ok(under.length <= limit && under.length > limit - 4096, `body of ${under.length} bytes for a limit of ${limit}`);
      const answer = await score(under);
      assert.equal(answer.status, 200, answer.text.slice(0, 300));
      const peak = treePeakBytes(replica.pid!);
      assert.ok(peak < MEMORY_GB * 1024 * MB, `a ${(under.length / MB).toFixed(1)} MB body took the replica to ${Math.round(peak / MB)} MB, over its ${MEMORY_GB * 1024} MB`);

      const over = await score(batch((limit + 4096) / MB, c.row));
      assert.equal(over.status, 413, over.text.slice(0, 300));
      const error = (JSON.parse(over.text) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, "PayloadTooLarge");
      assert.match(error.message, new RegExp(`\\b${limit} bytes`), "the service's own limit, not the router's 100 MB");
    });
  }
});

describe("the tensor of a JSON batch", () => {
  it("is written straight into a typed array of the input's type", () => {
    const f = tensorData([[1, 2.5], [3, 4]], "x", "float32");
    assert.deepEqual([f.dims, f.data], [[2, 2], new Float32Array([1, 2.5, 3, 4])]);
    assert.deepEqual(tensorData([7.9, -2], "x", "int64").data, new BigInt64Array([7n, -2n]));
    assert.deepEqual(tensorData(3, "x", "float64"), { dims: [], data: new Float64Array([3]) });
  });

  it("refuses a ragged array before allocating what its first row implies (a million rows of a million)", () => {
    const ragged = [new Array<number>(1_000_000).fill(0), ...new Array<number[]>(1_000_000).fill([])];
    assert.throws(() => tensorData(ragged, "x", "float32"), (e: unknown) => e instanceof ScoringError && e.statusCode === 400 && /not a rectangular array \(shape \[1000001,1000000\]\)/.test(e.message));
    assert.throws(() => tensorData([[1, "2"]], "x", "float32"), /input 'x' must contain only finite numbers/);
    assert.throws(() => tensorData([[1]], "x", "string"), /input 'x' has type string, which the built-in handler does not serve/);
  });
});

describe("the OpenAPI document's 413", () => {
  const model = path.join(REPO, "samples", "models", "regressor.onnx");
  const tooLarge = (doc: object) => (doc as { paths: Record<string, { post: { responses: Record<string, { description: string }> } }> }).paths["/api/v1/service/small/score"].post.responses["413"].description;

  it("names the service's own limit when the replica knows it, else only the bound every service's limit is under", async () => {
    const limited = new OnnxHandler({ modelDir: path.dirname(model), models: { regressor: model } }, { maxBodyBytes: 2_778_726 });
    await limited.init();
    assert.equal(tooLarge(limited.swagger("small")), "Payload larger than 2778726 bytes, the service's limit (what its replicas' memory holds)");
    const dir = tempDir("openapi");
    writeFileSync(path.join(dir, "score.js"), "exports.run = (input) => input;\n");
    const script = new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} });
    await script.init();
    assert.equal(tooLarge(script.swagger("small")), "Payload larger than the service's limit (at most 100 MB; less for a service whose memory cannot hold that)");
  });
});
