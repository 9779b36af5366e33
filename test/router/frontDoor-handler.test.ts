/**
 * The public port's handler (router/handler.ts) as a client and an operator see it, through the
 * real router on 127.0.0.1: the exact error answers of each check, the probes while serving and
 * while draining, which requests are mirrored, and what each answer leaves in the logs and
 * metrics (5xx as warnings, the rest at debug, an internal failure as a 500 with its ids).
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import pino from "pino";
import type { ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import type { ServiceKeys } from "../../core/decisions/auth";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle, RouterOptions } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream, type UpstreamHandler } from "../support/upstream";
import { rawSession } from "../support/rawSocket";

const SCORE = "/api/v1/service/svc/score";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
/** How long the slow replicas take: long enough that a duration off by a factor of 1000 shows. */
const REPLICA_DELAY_MS = 120;

interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const DEBUG = 20;
const WARN = 40;
const ERROR = 50;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
  /** The client's round trip: the router's own measure of the request must fit inside it. */
  ms: number;
}

/** A key store that fails on every read (a key vault that cannot be reached). */
class UnreachableKeyStore extends MemoryKeyStore {
  override get(): ServiceKeys | undefined {
    throw new Error("key vault unreachable");
  }
}

describe("router: the front door's answers, logs and metrics (handler)", function () {
  this.timeout(10_000);
  let router: RouterHandle | undefined;
  let records: LogRecord[];
  let agent: http.Agent;
  const upstreams: Upstream[] = [];

  /** A keep-alive client, so that `Connection: close` from the router is visible as such. */
  function send(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const started = performance.now();
    const { port } = new URL(router!.url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method: opts.method ?? "POST", headers: opts.headers, agent, timeout: 3_000 }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          const ms = performance.now() - started;
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Answer["json"], ms });
          } catch {
            reject(new Error(`non-JSON answer ${res.statusCode}: ${text.slice(0, 200)}`));
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer to ${path} within 3 s`)));
      req.on("error", reject);
      req.end(opts.body);
    });
  }

  async function replica(discovery: LocalDiscovery, unit: string, id: string, handler?: UpstreamHandler): Promise<Upstream> {
    const u = await startUpstream(id, { delayMs: REPLICA_DELAY_MS, handler });
    upstreams.push(u);
    discovery.addReplica(unit, { id, url: u.url });
    return u;
  }

  /** The router with `services` (no replicas: add them to `discovery` first), logging at `level` into `records`. */
  async function start(discovery: LocalDiscovery, opts: { level?: string; keys?: MemoryKeyStore; extra?: Partial<RouterOptions> } = {}): Promise<RouterHandle> {
    const logger = pino({ level: opts.level ?? "info" }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
    const keys = opts.keys ?? new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
    router = await routerWith(discovery, keys, { logger, ...opts.extra });
    return router;
  }

  /** One key-auth service `svc` with one replica echoing after REPLICA_DELAY_MS. */
  async function startSvc(over: Partial<ServiceRoutingSettings> = {}, opts: Parameters<typeof start>[1] = {}): Promise<RouterHandle> {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", over));
    await replica(discovery, "svc", "a");
    return start(discovery, opts);
  }

  /** The request counter and the duration histogram's sum of one service (implicit version). */
  async function counted(service: string): Promise<{ byStatus: Record<string, number>; seconds: number }> {
    const requests = await router!.metrics.requests.get();
    const byStatus: Record<string, number> = {};
    for (const v of requests.values) if (v.labels.service === service) byStatus[String(v.labels.status)] = v.value;
    const duration = await router!.metrics.duration.get();
    const sum = duration.values.find((v) => v.metricName === "aksinf_router_request_duration_seconds_sum" && v.labels.service === service);
    return { byStatus, seconds: sum?.value ?? 0 };
  }

  const logged = (level: number, msg: string) => records.filter((r) => r.level === level && r.msg === msg);

  beforeEach(() => {
    records = [];
    agent = new http.Agent({ keepAlive: true });
  });
  afterEach(async () => {
    agent.destroy();
    await router?.close();
    router = undefined;
    for (const u of upstreams.splice(0)) await u.close();
  });

  it("answers the liveness probes 'alive' and the readiness probes 'ready' while serving, on kept-alive connections", async () => {
    await startSvc();
    for (const path of ["/healthz", "/v2/health/live"]) {
      const a = await send(path, { method: "GET" });
      assert.deepEqual([a.status, a.json], [200, { status: "alive" }], path);
      assert.equal(a.headers.connection, "keep-alive", path);
    }
    for (const path of ["/readyz", "/v2/health/ready"]) {
      const a = await send(path, { method: "GET" });
      assert.deepEqual([a.status, a.json], [200, { status: "ready" }], path);
    }
  });

  it("while draining: liveness stays 'alive', readiness is 503 NotReady, and the router's own answers close their connection", async () => {
    await startSvc({}, { extra: { drainGraceMs: 600 } });
    const before = await send(SCORE, { headers: { authorization: "Bearer k1" }, body: "{}" });
    assert.deepEqual([before.status, before.headers.connection], [200, "keep-alive"]);
    const closing = router!.close();
    const live = await send("/healthz", { method: "GET" });
    assert.deepEqual([live.status, live.json, live.headers.connection], [200, { status: "alive" }, "close"]);
    for (const path of ["/readyz", "/v2/health/ready"]) {
      const a = await send(path, { method: "GET" });
      assert.deepEqual([a.status, a.json, a.headers.connection], [503, { error: { code: "NotReady", message: "router is not ready (starting or draining)" } }, "close"], path);
    }
    const refused = await send("/nowhere", { method: "GET" });
    assert.deepEqual([refused.status, refused.headers.connection], [404, "close"]);
    await closing;
  });

  // A keep-alive replica always sends `connection: keep-alive`, dropped as hop-by-hop: the
  // router's own `connection: close` must still reach the client, or forwarded answers (most of
  // the traffic) would keep clients on a draining router.
  it("while draining, a replica's answer closes the client's connection too", async () => {
    await startSvc({}, { extra: { drainGraceMs: 600 } });
    const closing = router!.close();
    const scored = await send(SCORE, { headers: { authorization: "Bearer k1" }, body: "{}" });
    assert.deepEqual([scored.status, scored.headers.connection], [200, "close"]);
    await closing;
  });

  it("answers 404 NotFound naming the scoring route for a path it does not route", async () => {
    await startSvc();
    const a = await send("/api/v2/nothing", { method: "GET" });
    assert.equal(a.status, 404);
    assert.deepEqual(a.json, { error: { code: "NotFound", message: "no route for /api/v2/nothing; scoring is POST /api/v1/service/<service>/score" } });
  });

  it("answers 405 MethodNotAllowed with Allow for a v2 route called with the wrong method", async () => {
    await startSvc();
    const infer = await send("/v2/models/svc/infer", { method: "GET" });
    assert.deepEqual([infer.status, infer.json, infer.headers.allow], [405, { error: { code: "MethodNotAllowed", message: "GET is not allowed here; use POST" } }, "POST"]);
    const ready = await send("/v2/models/svc/ready", { method: "POST", body: "{}" });
    assert.deepEqual([ready.status, ready.json, ready.headers.allow], [405, { error: { code: "MethodNotAllowed", message: "POST is not allowed here; use GET" } }, "GET"]);
  });

  it("v2 model readiness: 200 with the ready replicas of all versions, 503 NoReadyReplica when there are none", async () => {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("fraud", { version: { name: "blue", traffic: 100, mirrorPercent: 0 } }));
    discovery.upsertService(settings("fraud", { version: { name: "green", traffic: 0, mirrorPercent: 0 } }));
    discovery.upsertService(settings("empty"));
    await replica(discovery, "fraud.blue", "blue-1");
    await replica(discovery, "fraud.green", "green-1");
    await start(discovery);
    const ready = await send("/v2/models/fraud/ready", { method: "GET" });
    assert.deepEqual([ready.status, ready.json], [200, { name: "fraud", ready: true, readyReplicas: 2 }]);
    const none = await send("/v2/models/empty/ready", { method: "GET" });
    assert.deepEqual([none.status, none.json], [503, { error: { code: "NoReadyReplica", message: "service 'empty' has no ready replica" } }]);
  });

  it("no version taking traffic: 503 NoLiveVersion; a pinned version the service lacks: 404 VersionNotFound", async () => {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("dark", { authMode: "none", version: { name: "v1", traffic: 0, mirrorPercent: 0 } }));
    await replica(discovery, "dark.v1", "v1-1");
    await start(discovery);
    const unpinned = await send("/api/v1/service/dark/score", { body: "{}" });
    assert.deepEqual([unpinned.status, unpinned.json], [503, { error: { code: "NoLiveVersion", message: "service 'dark' has no version taking live traffic" } }]);
    const pinned = await send("/api/v1/service/dark/score", { body: "{}", headers: { "azureml-model-deployment": "red" } });
    assert.deepEqual([pinned.status, pinned.json], [404, { error: { code: "VersionNotFound", message: "service 'dark' has no version 'red' (it has 'v1')" } }]);
  });

  it("takes a body of exactly the service's limit; refuses a declared one byte over with 413 and closes the connection", async () => {
    await startSvc({ maxBodyBytes: 10 });
    const at = await send(SCORE, { headers: { authorization: "Bearer k1", "content-type": "application/json" }, body: "0123456789" });
    assert.deepEqual([at.status, at.json.bytes], [200, 10]);
    const over = await send(SCORE, { headers: { authorization: "Bearer k1", "content-type": "application/json" }, body: "0123456789A" });
    assert.equal(over.status, 413);
    assert.deepEqual(over.json, { error: { code: "PayloadTooLarge", message: "request body of 11 bytes exceeds the limit of service 'svc' (what its replicas' memory holds) of 10 bytes" } });
    assert.equal(over.headers.connection, "close");
  });

  it("refuses a wrong key with 401 Unauthorized and a Bearer challenge, closing the connection only when the client awaits 100-continue", async () => {
    await startSvc();
    const wrong = await send(SCORE, { headers: { authorization: "Bearer nope" }, body: "{}" });
    assert.deepEqual([wrong.status, wrong.json, wrong.headers["www-authenticate"], wrong.headers.connection], [401, { error: { code: "Unauthorized", message: "invalid key" } }, "Bearer", "keep-alive"]);
    // The body was never sent (the client waits for 100 Continue): the connection cannot be reused.
    const { data, closedByServer } = await rawSession(router!.port, (socket) => void socket.write(`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`), 1_500);
    assert.match(data, /^HTTP\/1\.1 401 /, "no 100 Continue before the refusal");
    assert.match(data, /\r\nconnection: close\r\n/i);
    assert.ok(closedByServer, "the router closes the connection itself");
  });

  it("mirrors scoring requests (v1 score, v2 infer) to the mirror version, and no other request", async () => {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("fraud", { authMode: "none", version: { name: "blue", traffic: 100, mirrorPercent: 0 } }));
    // Room for every copy at once: a copy that finds the mirror's replica busy is dropped, not queued.
    discovery.upsertService(settings("fraud", { authMode: "none", maxConcurrentRequestsPerReplica: 8, version: { name: "shadow", traffic: 0, mirrorPercent: 100 } }));
    await replica(discovery, "fraud.blue", "blue-1", (req, res) => res.end(JSON.stringify({ replica: "blue-1", path: req.url })));
    const shadow = await replica(discovery, "fraud.shadow", "shadow-1", (_req, res) => res.end("{}"));
    await start(discovery);
    // Not scoring first: had any of them been copied, its copy would be there before the scoring ones'.
    for (const [method, path] of [
      ["GET", "/api/v1/service/fraud/"],
      ["GET", "/api/v1/service/fraud/swagger.json"],
      ["POST", "/api/v1/service/fraud/other"],
      ["POST", "/api/v1/service/fraud/score"],
      ["POST", "/v2/models/fraud/infer"],
    ]) {
      const a = await send(path, { method, body: method === "POST" ? "{}" : undefined });
      assert.deepEqual([a.status, a.json.replica, a.headers["azureml-model-deployment"]], [200, "blue-1", "blue"], path);
    }
    const deadline = Date.now() + 2_000;
    while (shadow.hits.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...shadow.hits].sort(), ["/score", "/v2/models/fraud/infer"]);
  });

  it("logs a 5xx answer as a warning with its service, status, ids and duration; other answers only at debug", async () => {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", { authMode: "none" }));
    discovery.upsertService(settings("bad", { authMode: "none" }));
    await replica(discovery, "svc", "a");
    await replica(discovery, "bad", "b", (_req, res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}'));
    await start(discovery, { level: "debug" });

    const failed = await send("/api/v1/service/bad/score", { body: "{}", headers: { traceparent: TRACEPARENT } });
    assert.equal(failed.status, 500);
    const warnings = logged(WARN, "request failed");
    assert.deepEqual(
      warnings.map((r) => [r.service, r.status, r.requestId, r.traceId]),
      [["bad", 500, failed.headers["x-ms-request-id"], TRACE_ID]],
    );
    const warn = warnings[0];
    // The router's measure lies inside the client's round trip and includes the replica's time.
    assert.ok(typeof warn.ms === "number" && warn.ms >= REPLICA_DELAY_MS - 1 && warn.ms <= failed.ms + 1, `logged ${String(warn.ms)} ms, client saw ${failed.ms.toFixed(1)} ms`);
    const bad = await counted("bad");
    assert.deepEqual(bad.byStatus, { "500": 1 });
    assert.ok(bad.seconds >= (REPLICA_DELAY_MS - 1) / 1000 && bad.seconds <= (failed.ms + 1) / 1000, `metric ${bad.seconds} s, client saw ${failed.ms.toFixed(1)} ms`);

    const ok = await send("/api/v1/service/svc/score", { body: "{}", headers: { traceparent: TRACEPARENT } });
    const notFound = await send("/nowhere", { method: "GET" });
    assert.deepEqual([ok.status, notFound.status], [200, 404]);
    assert.equal(logged(WARN, "request failed").length, 1, "a 2xx or 4xx answer is no warning");
    const debug = logged(DEBUG, "request");
    assert.deepEqual(
      debug.map((r) => [r.service, r.status, r.requestId]),
      [
        ["svc", 200, ok.headers["x-ms-request-id"]],
        ["unknown", 404, notFound.headers["x-ms-request-id"]],
      ],
    );
    // The caller's trace goes on; a request without one gets a new trace id.
    assert.equal(debug[0].traceId, TRACE_ID);
    assert.match(String(debug[1].traceId), /^[0-9a-f]{32}$/);
    assert.ok(typeof debug[0].ms === "number" && debug[0].ms >= REPLICA_DELAY_MS - 1 && debug[0].ms <= ok.ms + 1, `logged ${String(debug[0].ms)} ms, client saw ${ok.ms.toFixed(1)} ms`);
    assert.ok(typeof debug[1].ms === "number" && debug[1].ms >= 0 && debug[1].ms <= notFound.ms + 1);
    assert.deepEqual((await counted("unknown")).byStatus, { "404": 1 });
  });

  it("answers a failure inside the router with 500 InternalError, logs it with the request's ids (not its credential), counts it and goes on serving", async () => {
    await startSvc({}, { keys: new UnreachableKeyStore() });
    const a = await send(SCORE, { headers: { authorization: "Bearer secret-key-123", traceparent: TRACEPARENT }, body: "{}" });
    assert.deepEqual([a.status, a.json], [500, { error: { code: "InternalError", message: "the router failed to handle the request" } }]);
    const errors = logged(ERROR, "unexpected error");
    assert.deepEqual(
      errors.map((r) => [r.err, r.requestId, r.traceId]),
      [["key vault unreachable", a.headers["x-ms-request-id"], TRACE_ID]],
    );
    assert.deepEqual(
      logged(WARN, "request failed").map((r) => [r.service, r.status, r.requestId]),
      [["unknown", 500, a.headers["x-ms-request-id"]]],
    );
    assert.ok(!records.some((r) => JSON.stringify(r).includes("secret-key-123")), "the credential is not logged");
    assert.deepEqual((await counted("unknown")).byStatus, { "500": 1 });
    const live = await send("/healthz", { method: "GET" });
    assert.deepEqual([live.status, live.json], [200, { status: "alive" }]);
  });
});
