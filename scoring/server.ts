/**
 * The scoring server of one replica: `POST /score` (v1), `POST /v2/models/<service>/infer`,
 * `GET /swagger.json`, liveness `/healthz` and readiness `/readyz` (only after `init()`).
 * Errors from the handler become JSON 4xx/5xx answers; nothing a request does can crash it.
 * A handler that answers whole exchanges (Python scripts) has its answers sent as they are, and
 * the server's own errors for it take the form Azure ML's scoring server gives them.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Gauge, Registry } from "prom-client";
import { INTERNAL_ERROR_MESSAGE, NOT_FOUND_MESSAGE, amlErrorResponse, methodNotAllowed, requestIdHeaders, type FullResponse } from "../core/contracts/amlScoring";
import { MAX_JSON_DEPTH, jsonDeeperThan } from "../core/decisions/jsonDepth";
import { headerReader, readRequestIds } from "../core/contracts/requestId";
import { MAX_PAYLOAD_BYTES } from "../core/decisions/payloadLimit";
import { DEFAULT_SCORING_TIMEOUT_MS, KEEP_ALIVE_MS, REPLICA_BUSY_HEADER } from "../core/contracts/naming";
import { REPLICA_TOKEN_HEADER, replicaTokenAccepted } from "../core/contracts/replicaToken";
import { parseTraceparent } from "../core/contracts/traceContext";
import { VERSION_HEADER } from "../core/decisions/versions";
import type { DataCollector } from "./collector";
import { ScoringError, isHttpHandler, type ComputeReport, type HttpHandler, type ScoringHandler } from "./handlers";
import type { RequestRecord, Telemetry } from "./telemetry";

/** Methods Azure ML's scoring server routes to /score (Werkzeug adds HEAD to GET routes). */
const SCORE_METHODS = ["GET", "HEAD", "OPTIONS", "POST"];

export type ReplicaState = "starting" | "ready" | "failed" | "draining";

export interface ScoringServerOptions {
  service: string;
  replica: string;
  handler: ScoringHandler | HttpHandler;
  log: Logger;
  collector?: DataCollector;
  host?: string;
  port?: number;
  /**
   * Scoring requests this replica runs at once (`replicaMaxConcurrentRequests`); one more gets an
   * immediate 503 with REPLICA_BUSY_HEADER, whichever router pod sent it. Default: no limit.
   */
  maxConcurrentRequests?: number;
  /** The service's body limit in bytes (the router's, for this service): a larger body gets 413. Default: Azure ML's 100 MB. */
  maxBodyBytes?: number;
  /** The service's scoringTimeoutMs: how long in-flight requests get to finish when the replica drains. Default: 60 s. */
  scoringTimeoutMs?: number;
  /** The compute a GPU service's replica got, for handlers that do not report it themselves (Python). */
  compute?: ComputeReport;
  /** Local mode: requests without this secret in REPLICA_TOKEN_HEADER get 403 (unset on a cluster). */
  replicaToken?: string;
  /** Application Insights records (a service with appInsightsEnabled): requests, printed lines, exceptions. */
  telemetry?: Telemetry;
}

export interface ScoringServer {
  url: string;
  port: number;
  state(): ReplicaState;
  /** Runs `init()`; readiness follows it. Rejects (state `failed`) with the script's error. */
  initialize(): Promise<void>;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
const error = (res: http.ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

/** Sends a whole answer; the body chunks are written as they are (no concatenation). */
function sendFull(res: http.ServerResponse, answer: FullResponse, extra: [string, string][] = []): void {
  const length = answer.body.reduce((n, b) => n + b.length, 0);
  const flat: string[] = [];
  for (const [k, v] of [...answer.headers, ...extra]) if (k.toLowerCase() !== "content-length") flat.push(k, v);
  flat.push("Content-Length", String(length));
  res.writeHead(answer.status, flat);
  for (const chunk of answer.body) res.write(chunk);
  res.end();
}

async function readBody(req: http.IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const { chunks } = await readChunks(req, maxBodyBytes);
  return Buffer.concat(chunks);
}

/** Whether a body is JSON by its content type, or, without one, by its first character. */
function looksJson(contentType: string | undefined, chunks: readonly Buffer[]): boolean {
  if (contentType) return contentType.includes("json");
  const first = chunks.find((c) => c.length > 0)?.toString("latin1").trimStart()[0];
  return first === "[" || first === "{" || first === '"';
}

const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};

/** The trace id of the request's traceparent (the router's), for the log lines. */
const traceIdOf = (req: http.IncomingMessage): string | undefined => parseTraceparent(header(req, "traceparent"))?.traceId;

const tooDeep = () => `request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`;

function readChunks(req: http.IncomingMessage, maxBodyBytes: number): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      // Past the limit the rest is read and dropped, not kept: the caller gets the 413 on an intact
      // connection (a socket destroyed mid-upload answers nothing). The router bounds what it sends.
      if (size > maxBodyBytes) chunks.length = 0;
      else chunks.push(c);
    });
    req.on("end", () => (size > maxBodyBytes ? reject(new ScoringError(413, `request body exceeds ${maxBodyBytes} bytes`)) : resolve({ chunks, size })));
    req.on("error", reject);
  });
}

/** JSON bodies are parsed (invalid JSON is the caller's error); anything else reaches `run` as text. */
function parseInput(req: http.IncomingMessage, body: Buffer): unknown {
  const text = body.toString("utf8");
  if (looksJson(req.headers["content-type"], [body])) {
    if (jsonDeeperThan([body])) throw new ScoringError(400, tooDeep());
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ScoringError(400, `request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  return text;
}

export async function startScoringServer(opts: ScoringServerOptions): Promise<ScoringServer> {
  let state: ReplicaState = "starting";
  let active = 0;
  const { log, handler, service, telemetry } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? MAX_PAYLOAD_BYTES;
  /** The request record of a scoring request (with telemetry): ended when its answer is. */
  const record = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, path: string): RequestRecord | undefined => {
    if (!telemetry) return undefined;
    const r = telemetry.request({ method: req.method ?? "", path, requestId, version: header(req, VERSION_HEADER), traceparent: header(req, "traceparent"), tracestate: header(req, "tracestate") });
    // "close" also covers a caller that left before the answer (recorded with the status it was given).
    res.once("close", () => r.end(res.statusCode));
    return r;
  };

  const score = async (handler: ScoringHandler, req: http.IncomingMessage, res: http.ServerResponse, kind: "v1" | "v2") => {
    // The one rule for request ids (core/contracts/requestId.ts), as the router applies it: the router's id
    // arrives as x-ms-request-id; an over-long one is refused as a Python replica refuses it.
    const read = readRequestIds(headerReader(req.headers), randomUUID);
    if ("tooLong" in read) return error(res, 431, "RequestIdTooLong", read.tooLong);
    const requestId = read.ids.msRequestId;
    const started = Date.now();
    const rec = record(req, res, requestId, kind === "v1" ? "/score" : `/v2/models/${service}/infer`);
    // What run() prints belongs to this request's record.
    const within = <T>(fn: () => T): T => (rec ? rec.run(fn) : fn());
    let input: unknown;
    let output: unknown;
    let status = 200;
    try {
      input = parseInput(req, await readBody(req, maxBodyBytes));
      output = kind === "v1" ? await within(() => handler.run(input, { requestId })) : { model_name: service, id: requestId, ...(await within(() => handler.infer(input, { requestId }))) };
      send(res, 200, output ?? null);
    } catch (err) {
      const e = err as Error & { statusCode?: unknown };
      status = typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
      const message = status >= 500 ? `run() failed: ${e.message}` : e.message;
      output = { error: message };
      if (status >= 500) {
        log.error({ requestId, traceId: traceIdOf(req), err: e.message, stack: e.stack }, "scoring failed");
        rec?.exception(e);
      }
      else log.info({ requestId, status, err: e.message }, "scoring rejected the input");
      if (!res.headersSent) error(res, status, status >= 500 ? "ModelError" : "BadInput", message);
    } finally {
      log.debug({ requestId, traceId: traceIdOf(req), status, ms: Date.now() - started }, "scored");
      opts.collector?.collect({ time: new Date(started).toISOString(), requestId, service, replica: opts.replica, status, input, output });
    }
  };

  /** A Python service's request, answered with the routes and errors of Azure ML's scoring server. */
  const serveHttp = async (h: HttpHandler, req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string | undefined) => {
    const ids = requestIdHeaders(headerReader(req.headers), randomUUID);
    const answer = (a: FullResponse) => sendFull(res, a, ids.headers);
    if (ids.error) return answer(ids.error);
    if (path === "/score") {
      // HEAD reaches run() too (a plain or schema run() refuses it, a @rawhttp one answers it).
      if (!SCORE_METHODS.includes(req.method ?? "")) return answer(methodNotAllowed(SCORE_METHODS));
      if (state !== "ready") return answer(amlErrorResponse(503, `replica is ${state}`));
      const started = Date.now();
      const { chunks, size } = await readChunks(req, maxBodyBytes);
      // The caller's fault, before the script's json.loads (or the schema parser) recurses into it.
      if (looksJson(req.headers["content-type"], chunks) && jsonDeeperThan(chunks)) return answer(amlErrorResponse(400, tooDeep()));
      const pairs: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const requestId = ids.headers[0]?.[1] ?? "";
      const rec = record(req, res, ids.headers.find(([name]) => name === "x-ms-request-id")?.[1] ?? requestId, path);
      const scoreRequest = { method: req.method ?? "GET", path, query: query ?? "", headers: pairs, body: chunks, bodyLength: size };
      // The worker's output while it runs this request belongs to the request's record (pythonHandler.ts keeps its async context).
      const out = await (rec ? rec.run(() => h.score(scoreRequest)) : h.score(scoreRequest));
      answer(out);
      const traceId = traceIdOf(req);
      log.debug({ requestId, traceId, status: out.status, ms: Date.now() - started }, "scored");
      if (out.status >= 500) log.warn({ requestId, traceId, status: out.status }, "scoring answered an error");
      // Azure ML's server marks an answer whose run() raised; the traceback went to stderr, in this request's records.
      if (rec && out.headers.some(([k, v]) => k.toLowerCase() === "x-ms-run-function-failed" && v === "True")) rec.pythonRunFailed();
      if (opts.collector) {
        const text = (b: Buffer[]) => Buffer.concat(b).toString("utf8");
        opts.collector.collect({ time: new Date(started).toISOString(), requestId, service, replica: opts.replica, status: out.status, input: text(chunks), output: text(out.body) });
      }
      return;
    }
    // Werkzeug's routing: an unknown path (also "/score/") is 404 whatever the method.
    if (path !== "/swagger.json" && path !== "/") return answer(amlErrorResponse(404, NOT_FOUND_MESSAGE));
    if (req.method !== "GET" && req.method !== "HEAD") return answer(methodNotAllowed(["GET", "HEAD", "OPTIONS"]));
    if (state !== "ready") return answer(amlErrorResponse(503, `replica is ${state}`));
    if (path === "/swagger.json") return answer(h.swagger(new URLSearchParams(query ?? "").get("version") ?? undefined));
    // The upstream server's health route.
    return answer({ status: 200, headers: [["Content-Type", "text/html; charset=utf-8"]], body: [Buffer.from("Healthy")] });
  };

  let scoring = 0;
  /** Takes a scoring slot, or answers "busy" (before reading the body) and returns false. */
  const admit = (res: http.ServerResponse): boolean => {
    if (opts.maxConcurrentRequests !== undefined && scoring >= opts.maxConcurrentRequests) {
      res.setHeader(REPLICA_BUSY_HEADER, "true");
      res.setHeader("connection", "close");
      error(res, 503, "ReplicaBusy", `replica runs its maximum of ${opts.maxConcurrentRequests} concurrent request(s)`);
      return false;
    }
    scoring++;
    res.once("close", () => scoring--);
    return true;
  };

  const compute = () => (isHttpHandler(handler) ? undefined : handler.compute?.()) ?? opts.compute;
  // The replica's own metrics: which compute a GPU service's replica got, as a label, so a
  // dashboard can find GPU replicas running on CPU (gpuFallbackToCpu).
  const metrics = new Registry();
  const computeInfo = new Gauge({ name: "aksinf_replica_compute_info", help: "Compute of a GPU service's replica (label gpu: cuda or cpu); 1 once ready", labelNames: ["service", "replica", "gpu"], registers: [metrics] });

  const server = http.createServer((req, res) => {
    // Local mode: the port is on loopback, open to every process of the machine; only local mode's router and supervisor hold the secret.
    if (!replicaTokenAccepted(req.headers[REPLICA_TOKEN_HEADER], opts.replicaToken)) return error(res, 403, "Forbidden", "this replica takes requests from local mode's router only");
    const [path, query] = (req.url ?? "/").split(/\?(.*)/s, 2);
    const ready = () => state === "ready" && (!isHttpHandler(handler) || handler.healthy());
    if (path === "/healthz") return send(res, 200, { status: "alive", state });
    // A GPU service's replica says which compute it got (`gpu: cuda|cpu`): local mode's `state` reads it here.
    if (path === "/readyz") return ready() ? send(res, 200, { status: "ready", ...compute() }) : send(res, 503, { status: state === "ready" ? "restarting" : state });
    if (path === "/metrics" && req.method === "GET") {
      void metrics.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.contentType });
        res.end(text);
      });
      return;
    }
    if (isHttpHandler(handler)) {
      if (path === "/score" && state === "ready" && !admit(res)) return;
      active++;
      serveHttp(handler, req, res, path, query)
        .catch((err: unknown) => {
          log.error({ err: (err as Error).message }, "unexpected scoring error");
          if (!res.headersSent) sendFull(res, amlErrorResponse(err instanceof ScoringError ? err.statusCode : 500, err instanceof ScoringError ? err.message : INTERNAL_ERROR_MESSAGE));
        })
        .finally(() => active--);
      return;
    }
    if (path === "/swagger.json") {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD");
        return error(res, 405, "MethodNotAllowed", "use GET");
      }
      if (state !== "ready") return error(res, 503, "NotReady", `replica is ${state}`);
      return send(res, 200, handler.swagger(service));
    }
    if (path === `/v2/models/${service}/ready`) return state === "ready" ? send(res, 200, { name: service, ready: true }) : send(res, 503, { name: service, ready: false });
    const kind = path === "/score" ? "v1" : path === `/v2/models/${service}/infer` ? "v2" : undefined;
    if (!kind) return error(res, 404, "NotFound", `no route ${path}`);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return error(res, 405, "MethodNotAllowed", "use POST");
    }
    if (state !== "ready") return error(res, 503, "NotReady", `replica is ${state}`);
    if (!admit(res)) return;
    active++;
    score(handler, req, res, kind)
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message }, "unexpected scoring error");
        if (!res.headersSent) error(res, 500, "InternalError", "the scoring server failed");
      })
      .finally(() => active--);
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    port,
    state: () => state,
    async initialize() {
      const t = Date.now();
      try {
        await (telemetry ? telemetry.init(() => handler.init()) : handler.init());
        state = "ready";
        const c = compute();
        if (c) computeInfo.set({ service, replica: opts.replica, gpu: c.gpu }, 1);
        if (c?.warning) log.warn({ gpu: c.gpu }, c.warning);
        log.info({ ms: Date.now() - t, ...(c ? { gpu: c.gpu } : {}) }, c ? `init() finished: replica ready (gpu: ${c.gpu})` : "init() finished: replica ready");
      } catch (err) {
        state = "failed";
        log.error({ err: (err as Error).message, stack: (err as Error).stack }, "init() failed");
        telemetry?.initFailed(err as Error);
        throw err;
      }
    },
    async close() {
      // Readiness off first, then let in-flight requests finish.
      state = "draining";
      server.close();
      server.closeIdleConnections();
      const deadline = Date.now() + (opts.scoringTimeoutMs ?? DEFAULT_SCORING_TIMEOUT_MS);
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      if (isHttpHandler(handler)) await handler.close();
      await opts.collector?.close();
    },
  };
}
