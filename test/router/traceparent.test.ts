/**
 * W3C trace context across the router's hop, through the real router to replicas on 127.0.0.1:
 * a caller's valid `traceparent` is passed on unchanged (the router records no span), a missing or
 * malformed one is replaced by a new trace, the trace id is logged beside the request id (router
 * and replica, JavaScript and Python), and a mirrored copy is a span of its own linked to the original.
 */
import * as assert from "node:assert/strict";
import type * as http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import type { ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import { MIRROR_OF_KEY, parseTraceparent } from "../../core/contracts/traceContext";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { EntryScriptHandler } from "../../scoring/handlers";
import { PythonHandler } from "../../scoring/pythonHandler";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${PARENT}-01`;

/** A pino logger at debug whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "debug" }, sink), lines };
}

const open = (name: string, over: Partial<ServiceRoutingSettings> = {}) => settings(name, { authMode: "none", maxConcurrentRequestsPerReplica: 4, ...over });

describe("router: trace context across the hop to the replica", function () {
  this.timeout(30_000);
  let discovery: LocalDiscovery;
  let router: RouterHandle;
  let routerLog: ReturnType<typeof capturedLog>;
  const closers: (() => Promise<unknown>)[] = [];
  /** Headers each echo replica got, by replica name. */
  const seen = new Map<string, http.IncomingHttpHeaders[]>();

  async function echo(unit: string, name: string): Promise<Upstream> {
    seen.set(name, []);
    const u = await startUpstream(name, {
      handler: (req, res) => {
        seen.get(name)!.push(req.headers);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      },
    });
    closers.push(() => u.close());
    discovery.addReplica(unit, { id: name, url: u.url });
    return u;
  }

  beforeEach(async () => {
    discovery = new LocalDiscovery();
    routerLog = capturedLog();
    router = await routerWith(discovery, new MemoryKeyStore(), { logger: routerLog.log });
  });
  afterEach(async () => {
    await router.close();
    for (const close of closers.splice(0)) await close();
  });

  const post = (service: string, headers: Record<string, string> = {}) => fetch(`${router.url}/api/v1/service/${service}/score`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"data":[1]}' });
  /** The router's log line of a request, by its id. */
  const routerLine = (requestId: string) => routerLog.lines.find((l) => l.msg === "request" && l.requestId === requestId);

  it("passes a caller's valid traceparent and tracestate on unchanged (the router records no span), and logs the trace id", async () => {
    discovery.upsertService(open("svc"));
    await echo("svc", "r1");
    const res = await post("svc", { traceparent: VALID, tracestate: "rojo=00f067aa0ba902b7", "x-ms-request-id": "req-1" });
    assert.equal(res.status, 200);
    const [got] = seen.get("r1")!;
    const forwarded = parseTraceparent(String(got.traceparent));
    assert.ok(forwarded, `forwarded ${String(got.traceparent)}`);
    assert.equal(forwarded.traceId, TRACE);
    assert.equal(forwarded.flags, "01");
    assert.equal(forwarded.parentId, PARENT, "the replica's parent is the caller's span: no record would carry a span of the router's");
    assert.equal(got.tracestate, "rojo=00f067aa0ba902b7");
    assert.deepEqual({ traceId: routerLine("req-1")?.traceId }, { traceId: TRACE });
  });

  it("starts a trace for a request without traceparent, and replaces a malformed one (dropping its tracestate)", async () => {
    discovery.upsertService(open("svc"));
    await echo("svc", "r1");
    await post("svc", { "x-ms-request-id": "req-none" });
    await post("svc", { traceparent: `00-${"0".repeat(32)}-${PARENT}-01`, tracestate: "rojo=1", "x-ms-request-id": "req-bad" });
    await post("svc", { traceparent: VALID.toUpperCase(), "x-ms-request-id": "req-upper" });
    const got = seen.get("r1")!;
    const ids = got.map((h) => parseTraceparent(String(h.traceparent)));
    assert.ok(ids.every((t) => t !== undefined && t.traceId !== TRACE && t.flags === "01"), JSON.stringify(got.map((h) => h.traceparent)));
    assert.equal(new Set(ids.map((t) => t!.traceId)).size, 3, "each request a trace of its own");
    assert.equal(got[1].tracestate, undefined, "the tracestate of an invalid traceparent is not passed on");
    ["req-none", "req-bad", "req-upper"].forEach((id, i) => assert.equal(routerLine(id)?.traceId, ids[i]!.traceId, `${id}: the log names the forwarded trace`));
  });

  it("gives a mirrored copy its own span in the same trace, linked to the original through tracestate, and the mirror's version", async () => {
    const version = (name: string, traffic: number, mirrorPercent: number) => open("fraud", { version: { name, traffic, mirrorPercent } });
    discovery.upsertService(version("blue", 100, 0));
    discovery.upsertService(version("shadow", 0, 100));
    await echo("fraud.blue", "live");
    await echo("fraud.shadow", "mirror");
    assert.equal((await post("fraud", { traceparent: VALID, tracestate: "rojo=1" })).status, 200);
    const deadline = Date.now() + 5_000;
    while (seen.get("mirror")!.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const [live] = seen.get("live")!;
    const [copy] = seen.get("mirror")!;
    assert.ok(copy, "the mirror got its copy");
    const [l, m] = [live, copy].map((h) => parseTraceparent(String(h.traceparent))!);
    assert.equal(m.traceId, TRACE);
    assert.equal(l.traceId, TRACE);
    assert.notEqual(m.parentId, l.parentId, "the copy is a span of its own");
    assert.equal(copy.tracestate, `${MIRROR_OF_KEY}=${l.parentId},rojo=1`, "the link names the original's parent span");
    assert.equal(live.tracestate, "rojo=1");
    assert.deepEqual([live["azureml-model-deployment"], copy["azureml-model-deployment"]], ["blue", "shadow"], "each replica is told its version");
  });

  describe("into the replicas' logs", () => {
    async function replica(unit: string, server: ScoringServer): Promise<void> {
      closers.push(() => server.close());
      await server.initialize();
      discovery.addReplica(unit, { id: `${unit}-1`, url: server.url });
    }

    it("JavaScript and Python replicas log the caller's trace id with the request id", async () => {
      const js = capturedLog();
      const py = capturedLog();
      const dir = tempDir("traceparent");
      writeFileSync(path.join(dir, "score.js"), "exports.run = () => ({ ok: true });");
      const app = path.join(dir, "py");
      mkdirSync(path.join(app, "models"), { recursive: true });
      writeFileSync(path.join(app, "score.py"), "def init():\n    pass\ndef run(raw):\n    return {'ok': True}\n");
      discovery.upsertService(open("jssvc"));
      discovery.upsertService(open("pysvc"));
      await replica("jssvc", await startScoringServer({ service: "jssvc", replica: "j1", log: js.log, handler: new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: dir, models: {} }) }));
      const pyHandler = new PythonHandler({ python: "/usr/bin/python3", appRoot: app, entryScript: "score.py", models: { modelDir: app, models: {} }, modelsRoot: path.join(app, "models"), service: "pysvc", workers: 1, scoringTimeoutMs: 10_000, log: py.log });
      await replica("pysvc", await startScoringServer({ service: "pysvc", replica: "p1", log: py.log, handler: pyHandler }));

      for (const [service, captured] of [["jssvc", js], ["pysvc", py]] as const) {
        const res = await post(service, { traceparent: VALID, "x-ms-request-id": `${service}-req` });
        assert.equal(res.status, 200, await res.text());
        const scored = captured.lines.find((l) => l.msg === "scored");
        assert.deepEqual({ requestId: scored?.requestId, traceId: scored?.traceId }, { requestId: `${service}-req`, traceId: TRACE }, service);
        assert.equal(routerLine(`${service}-req`)?.traceId, TRACE);
      }
    });
  });
});
