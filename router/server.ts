/**
 * The request router (the azureml-fe equivalent): `startRouter` serves the v1 scoring path and
 * the Open Inference Protocol v2 paths, authenticates per service, enforces the payload limit,
 * balances across ready replicas with a bounded queue, autoscales model services, and drains
 * gracefully. Discovery, keys, scaling and coordination are injected (router/types.ts).
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import type { Dispatcher } from "undici";
import { bearer, keyMatches, verifyToken, type TokenIssuer } from "../core/auth";
import { Autoscaler, type AutoscalerOptions } from "./autoscaler";
import { BalancerError, ServiceBalancer, type ReplicaSlot } from "./balancer";
import { RouterMetrics, labelsOf } from "./metrics";
import { StatusSampler, serveStatus } from "./status";
import { BodyBudget, BodyBudgetError, DEFAULT_BODY_LIMITS, PayloadTooLargeError, SlowBodyError, bodyDeadlineMs, bufferBody, type BodyLimits, type BufferedBody } from "./body";
import { FRONT_DOOR_SERVER_OPTIONS, MAX_REQUEST_HEADERS, connectionCap, guardFrontDoor, openFileLimit } from "./frontDoor";
import { BodySource, ForwardError, ReplicaBusyError, forward, forwardHeaders } from "./proxy";
import { CallbackScaler, SingleCoordinator } from "./inProcess";
import type { Coordinator, Discovery, KeyStore, Scaler, ServiceLoad } from "./types";
import { MAX_PAYLOAD_BYTES } from "../core/payloadLimit";
import { VERSION_HEADER } from "../core/versions";
import { sendMirror } from "./mirror";
import { VersionTable, type VersionChoice } from "./versionTable";
import { logLevel } from "../core/naming";

export interface RouterOptions {
  discovery: Discovery;
  keys: KeyStore;
  /** Changes replica counts; default: none (autoscaling decisions are only logged). */
  scaler?: Scaler;
  /** Default: this router is the only one. */
  coordinator?: Coordinator;
  /** Token issuer for services with token auth. */
  tokenIssuer?: TokenIssuer;
  /** Listen address; default 127.0.0.1 and an ephemeral port. */
  host?: string;
  port?: number;
  /** Admin listener (/metrics, /internal/load, probes); default: an ephemeral port on `host`. */
  adminPort?: number;
  /** PEM certificate and key: serve HTTPS on `port`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest request body; default 100 MiB. */
  maxBodyBytes?: number;
  /** Requests allowed to wait per service before answering 503 at once; default 1,000. */
  maxQueueLength?: number;
  /** Random numbers in [0, 1) for the traffic split and mirroring; default Math.random (tests fix it). */
  random?: () => number;
  autoscale?: AutoscalerOptions;
  /** Time a client has to send its request headers (slow-loris guard); default 10 s. */
  headersTimeoutMs?: number;
  /** Open client connections at most on the public port; default from the open-file limit (router/frontDoor.ts). */
  maxConnections?: number;
  /** Body buffering and minimum transfer rate (defaults in router/body.ts). */
  bodyLimits?: Partial<BodyLimits>;
  /** Keep the client's X-Forwarded-For chain (a trusted proxy sits in front); default: replace it. */
  trustForwardedFor?: boolean;
  /** Longest token lifetime accepted; default a day. */
  maxTokenLifetimeSeconds?: number;
  /**
   * On close, how long the router keeps answering (each answer with `Connection: close`) before
   * it stops listening: clients with idle keep-alive connections move elsewhere instead of
   * racing a closing socket. Default 1 s.
   */
  drainGraceMs?: number;
  /** Longest time `close()` waits for in-flight requests; default the longest scoring timeout + 5 s. */
  drainTimeoutMs?: number;
  logger?: Logger;
}

export interface RouterHandle {
  url: string;
  port: number;
  adminUrl: string;
  metrics: RouterMetrics;
  autoscaler: Autoscaler;
  log: Logger;
  /** Requests in flight and queued per service (what peers report to the leader). */
  load(): Record<string, ServiceLoad>;
  /** Readiness off, stop accepting, wait for in-flight requests, close. */
  close(): Promise<void>;
}

type Route = { service: string; kind: "score" | "swagger" | "infer" | "modelReady" };

const V1 = "/api/v1/service/";
const V2 = "/v2/models/";

/** Route kinds by prefix and the path segment after `<service>/`. */
const ROUTES: [prefix: string, tails: ReadonlyMap<string, Route["kind"]>][] = [
  [V1, new Map([["score", "score"], ["swagger.json", "swagger"]])],
  [V2, new Map([["infer", "infer"], ["ready", "modelReady"]])],
];

export function parseRoute(path: string): Route | undefined {
  for (const [prefix, tails] of ROUTES) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash <= 0) return undefined;
    const kind = tails.get(rest.slice(slash + 1));
    return kind && { service: rest.slice(0, slash), kind };
  }
  return undefined;
}

/**
 * Methods per route. Scoring takes what Azure ML's scoring server routes to `/score` (GET with the
 * query parameters for `run()`, HEAD and OPTIONS, which `@rawhttp` scripts answer themselves),
 * each authenticated like a POST.
 */
const ALLOWED: Record<Route["kind"], readonly string[]> = { score: ["POST", "GET", "HEAD", "OPTIONS"], infer: ["POST"], swagger: ["GET"], modelReady: ["GET"] };
/** Pause before asking a busy replica again once every replica has answered busy. */
const BUSY_RETRY_MS = 20;
/** How much longer than a service's scoring timeout the router waits for the replica's own answer. */
const REPLICA_TIMEOUT_MARGIN_MS = 1_000;
const UPSTREAM_PATH: Record<"score" | "swagger", string> = { score: "/score", swagger: "/swagger.json" };

/** Errors of the connect phase: nothing reached the replica, so another one may take the request. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);
const MAX_ATTEMPTS = 3;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A JSON answer; once a response has started (a stream broke midway) the connection is cut instead. */
function sendJson(res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** The router's error answer: `{"error": {"code", "message"}}`. */
function sendError(res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, extra);
}

export async function startRouter(opts: RouterOptions): Promise<RouterHandle> {
  const log = opts.logger ?? pino({ name: "aks-inference-router", level: logLevel(process.env) });
  const metrics = new RouterMetrics();
  const maxBody = opts.maxBodyBytes ?? MAX_PAYLOAD_BYTES;
  /** A service's body limit: the router's, or less when its replicas' memory cannot hold that much. */
  const limitOf = (b: ServiceBalancer) => Math.min(maxBody, b.settings.maxBodyBytes ?? maxBody);
  const tooLarge = (b: ServiceBalancer, size?: string) => {
    const limit = limitOf(b);
    const why = limit < maxBody ? ` of service '${b.settings.name}' (what its replicas' memory holds)` : "";
    return `request body${size ? ` of ${size} bytes` : ""} exceeds the limit${why} of ${limit} bytes`;
  };
  const bodyLimits: BodyLimits = { ...DEFAULT_BODY_LIMITS, ...opts.bodyLimits };
  const bodyBudget = new BodyBudget(bodyLimits.budgetBytes);
  metrics.bodyBufferSource = () => bodyBudget.used;
  const balancers = new Map<string, ServiceBalancer>();
  const host = opts.host ?? "127.0.0.1";
  let ready = false;
  let draining = false;
  let active = 0;

  const sync = (service: string) => {
    const view = opts.discovery.services().get(service);
    const existing = balancers.get(service);
    if (!view) {
      if (existing) {
        balancers.delete(service);
        void existing.close();
        log.info({ service }, "service removed");
      }
      return;
    }
    if (existing) existing.update(view.settings, view.replicas);
    else {
      const b = new ServiceBalancer(view.settings, opts.maxQueueLength ?? 1000);
      b.update(view.settings, view.replicas);
      balancers.set(service, b);
      log.info({ service, replicas: view.replicas.length, auth: view.settings.authMode }, "service discovered");
    }
  };
  // Discovery reports each version on its own; the table groups them back by service.
  const versions = new VersionTable();
  const syncVersions = (unit: string) => {
    sync(unit);
    versions.rebuild([...balancers.values()].map((b) => b.settings));
  };
  opts.discovery.onChange(syncVersions);
  await opts.discovery.ready();
  for (const name of opts.discovery.services().keys()) sync(name);
  versions.rebuild([...balancers.values()].map((b) => b.settings));
  const random = opts.random ?? Math.random;

  const coordinator = opts.coordinator ?? new SingleCoordinator();
  const status = new StatusSampler(
    metrics,
    () => new Map([...balancers].map(([name, b]) => [name, { ...b.settings.autoscale, autoscale: b.settings.autoscale.enabled }])),
    coordinator,
  );
  const autoscaler = new Autoscaler(
    balancers,
    opts.scaler ?? new CallbackScaler((service, n) => log.warn({ service, replicas: n }, "autoscale decision with no scaler configured")),
    coordinator,
    metrics,
    log,
    {
      ...opts.autoscale,
      onDecision: (d) => {
        status.decided(d);
        opts.autoscale?.onDecision?.(d);
      },
    },
  );

  /** Undefined when allowed; else the answer to give. */
  const authenticate = async (b: ServiceBalancer, header: string | undefined): Promise<{ status: number; code: string; reason: string; message: string } | undefined> => {
    const s = b.settings;
    if (s.authMode === "none") return undefined;
    const credential = bearer(header);
    if (!credential) return { status: 401, code: "Unauthorized", reason: "missing", message: `service '${s.name}' requires 'Authorization: Bearer <${s.authMode}>'` };
    if (s.authMode === "key") {
      const keys = opts.keys.get(s.name);
      if (!keys) return { status: 401, code: "Unauthorized", reason: "key", message: `service '${s.name}' has no keys yet` };
      return keyMatches(credential, keys) ? undefined : { status: 401, code: "Unauthorized", reason: "key", message: "invalid key" };
    }
    if (!opts.tokenIssuer) return { status: 401, code: "Unauthorized", reason: "token", message: "token auth is not configured on this router" };
    const check = await verifyToken(credential, opts.tokenIssuer, s.tokenAudience, { maxLifetimeSeconds: opts.maxTokenLifetimeSeconds });
    return check.ok ? undefined : { status: 401, code: "Unauthorized", reason: "token", message: check.reason };
  };

  /**
   * The body's first part (all of it, up to the buffer size) read before a replica slot is
   * taken, so a slow client holds router memory, never a replica. Undefined when the request
   * has no body; an error answer has been sent when it returns null.
   */
  const readBody = async (req: http.IncomingMessage, res: http.ServerResponse, b: ServiceBalancer): Promise<BufferedBody | undefined | null> => {
    const length = req.headers["content-length"];
    const hasBody = req.method === "POST" && (length !== undefined ? length !== "0" : req.headers["transfer-encoding"] !== undefined);
    if (!hasBody) return undefined;
    try {
      return await bufferBody(req, { maxBody: limitOf(b), declared: length === undefined ? undefined : Number(length), limits: bodyLimits, budget: bodyBudget });
    } catch (err) {
      if (err instanceof PayloadTooLargeError) sendError(res, 413, "PayloadTooLarge", tooLarge(b), { connection: "close" });
      else if (err instanceof SlowBodyError) sendError(res, 408, "RequestTimeout", err.message, { connection: "close" });
      else if (err instanceof BodyBudgetError) sendError(res, 503, "RouterBusy", err.message, { "retry-after": "1", connection: "close" });
      else throw err;
      return null;
    }
  };

  const proxy = async (req: http.IncomingMessage, res: http.ServerResponse, b: ServiceBalancer, route: Route, requestId: string, start: number, query: string, choice: VersionChoice) => {
    // The query string reaches the model (GET scoring parameters, swagger.json?version=3).
    const upstreamPath = (route.kind === "infer" ? `/v2/models/${route.service}/infer` : UPSTREAM_PATH[route.kind === "swagger" ? "swagger" : "score"]) + query;
    const readStart = performance.now();
    const buffered = await readBody(req, res, b);
    if (buffered === null) return;
    // The client's pace is not routing time: the overhead metric (self-scaling's input) leaves out
    // the time the body took to arrive.
    const routingStart = start + (performance.now() - readStart);
    try {
      await forwardBuffered(req, res, b, route, requestId, routingStart, upstreamPath, buffered, choice);
    } finally {
      buffered?.release();
    }
  };

  const forwardBuffered = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    b: ServiceBalancer,
    route: Route,
    requestId: string,
    start: number,
    upstreamPath: string,
    buffered: BufferedBody | undefined,
    choice: VersionChoice,
  ) => {
    const whole = buffered?.complete ? (buffered.chunks.length === 1 ? buffered.chunks[0] : Buffer.concat(buffered.chunks)) : undefined;
    const declared = Number(req.headers["content-length"] ?? limitOf(b));
    const headers = forwardHeaders(req, requestId, opts.trustForwardedFor);
    const mirror = choice.mirrorUnit === undefined ? undefined : balancers.get(choice.mirrorUnit);
    if (mirror) {
      // The copy leaves now and runs beside the live request; nothing of it reaches this caller.
      const labels = labelsOf(choice.mirrorUnit!);
      const body = buffered === undefined ? null : whole;
      sendMirror(mirror, { method: req.method as Dispatcher.HttpMethod, path: upstreamPath, headers, body }, mirror.settings.scoringTimeoutMs, (outcome) => metrics.mirrored.labels({ ...labels, outcome }).inc());
    }
    const tried = new Set<string>();
    let busySince: number | undefined;
    let pauseFirst = false;
    for (let attempt = 1; ; attempt++) {
      // Every replica answered busy: wait a moment (holding no slot) before asking again.
      if (pauseFirst) await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
      pauseFirst = false;
      let slot: ReplicaSlot;
      try {
        slot = await b.acquire(tried);
      } catch (err) {
        if (!(err instanceof BalancerError)) throw err;
        const retryAfter = String(Math.max(1, Math.ceil(b.settings.maxQueueWaitMs / 1000)));
        return sendError(res, err.status, err.code, err.message, { "retry-after": retryAfter });
      }
      const acquiredAt = performance.now();
      const body = buffered === undefined ? null : (whole ?? new BodySource(req, limitOf(b), buffered, { limits: bodyLimits, total: declared }));
      try {
        await forward(slot.pool, res, {
          path: upstreamPath,
          method: req.method as Dispatcher.HttpMethod,
          headers,
          body,
          // The replica enforces scoringTimeoutMs itself (a Python service answers its own timeout
          // as Azure ML does); the router waits a little longer so that answer wins the race.
          timeoutMs: b.settings.scoringTimeoutMs + REPLICA_TIMEOUT_MARGIN_MS,
          onResponseHeaders: (status) => {
            metrics.overhead.observe((acquiredAt - start) / 1000);
            const extra: Record<string, string> = { "x-ms-request-id": requestId };
            // azureml-fe's convention: the model's own error status stays visible.
            if (status >= 400) extra["ms-azureml-model-error-statuscode"] = String(status);
            return extra;
          },
        });
        return;
      } catch (err) {
        if (!(err instanceof ForwardError)) throw err;
        const code = (err.cause as NodeJS.ErrnoException).code ?? "";
        if (err.cause instanceof ReplicaBusyError && !err.delivered) {
          // Other router pods fill this replica: another replica, or this one again shortly, within the queue wait.
          busySince ??= Date.now();
          if (Date.now() - busySince < b.settings.maxQueueWaitMs) {
            tried.add(slot.replica.id);
            if (tried.size >= b.readyReplicas()) {
              tried.clear();
              pauseFirst = true;
            }
            continue;
          }
          return sendError(res, 503, "ReplicaBusy", `every replica of service '${route.service}' stayed busy for ${b.settings.maxQueueWaitMs} ms`, { "retry-after": "1" });
        }
        if (!err.delivered && CONNECT_ERRORS.has(code) && attempt < MAX_ATTEMPTS) {
          log.warn({ service: route.service, replica: slot.replica.id, code, requestId }, "replica unreachable, retrying on another");
          tried.add(slot.replica.id);
          continue;
        }
        if (err.cause instanceof PayloadTooLargeError) {
          return sendError(res, 413, "PayloadTooLarge", tooLarge(b), { connection: "close" });
        }
        if (err.cause instanceof SlowBodyError) return sendError(res, 408, "RequestTimeout", err.cause.message, { connection: "close" });
        if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
          return sendError(res, 504, "ScoringTimeout", `service '${route.service}' did not answer within ${b.settings.scoringTimeoutMs} ms`);
        }
        if (res.destroyed || req.socket.destroyed) return; // the client went away (req itself is destroyed once fully read)
        log.error({ service: route.service, replica: slot.replica.id, code, err: err.message, requestId }, "forwarding failed");
        return sendError(res, 502, "BadGateway", `replica of service '${route.service}' failed: ${err.delivered ? "the connection broke after the request was sent (not retried: it may have reached the model)" : err.message}`);
      } finally {
        b.release(slot);
      }
    }
  };

  /** At most one "authentication failed" line per service every 10 s, with the count it stands for. */
  const authLog = new Map<string, { at: number; suppressed: number }>();
  const authFailed = (service: string, reason: string, requestId: string) => {
    metrics.authFailures.labels({ service, reason }).inc();
    const now = Date.now();
    const last = authLog.get(service);
    if (last && now - last.at < 10_000) {
      last.suppressed++;
      return;
    }
    log.warn({ service, reason, requestId, alsoFailedSinceLastLine: last?.suppressed ?? 0 }, "authentication failed");
    authLog.set(service, { at: now, suppressed: 0 });
  };

  /** Checks that need no service: header count, Host, one Authorization. Undefined when fine. */
  const malformed = (req: http.IncomingMessage): [status: number, code: string, message: string] | undefined => {
    if (req.rawHeaders.length / 2 > MAX_REQUEST_HEADERS) return [431, "HeadersTooLarge", `more than ${MAX_REQUEST_HEADERS} request headers`];
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) return [400, "BadRequest", "HTTP/1.1 requests need a Host header"];
    let auth = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 13 && req.rawHeaders[i].toLowerCase() === "authorization") auth++;
    if (auth > 1) return [400, "BadRequest", "more than one Authorization header"];
    return undefined;
  };

  /** Answers one request; returns the unit (service version) it was for, when known (for the metrics). */
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, path: string, query: string, start: number): Promise<string | undefined> => {
    const bad = malformed(req);
    if (bad) {
      sendError(res, bad[0], bad[1], bad[2], { connection: "close" });
      return undefined;
    }
    const route = parseRoute(path);
    if (!route) {
      sendError(res, 404, "NotFound", `no route for ${path}; scoring is POST /api/v1/service/<service>/score`);
      return undefined;
    }
    if (!versions.has(route.service)) {
      sendError(res, 404, "ServiceNotFound", `service '${route.service}' does not exist`);
      return undefined;
    }
    const allowed = ALLOWED[route.kind];
    if (!allowed.includes(req.method ?? "")) {
      sendError(res, 405, "MethodNotAllowed", `${req.method} is not allowed here; use ${allowed.join(" or ")}`, { allow: allowed.join(", ") });
      return route.service;
    }
    if (route.kind === "modelReady") {
      const n = versions.unitsOf(route.service).reduce((sum, unit) => sum + (balancers.get(unit)?.readyReplicas() ?? 0), 0);
      if (n > 0) sendJson(res, 200, { name: route.service, ready: true, readyReplicas: n });
      else sendError(res, 503, "NoReadyReplica", `service '${route.service}' has no ready replica`);
      return route.service;
    }
    // The version: the one the caller pins (Azure ML's azureml-model-deployment header), else by the split.
    const pinned = req.headers[VERSION_HEADER];
    const choice = versions.choose(route.service, typeof pinned === "string" ? pinned : undefined, random);
    if ("error" in choice) {
      sendError(res, pinned === undefined ? 503 : 404, pinned === undefined ? "NoLiveVersion" : "VersionNotFound", choice.error);
      return route.service;
    }
    const b = balancers.get(choice.unit)!;
    res.setHeader(VERSION_HEADER, choice.version);
    if (route.kind !== "swagger") {
      const length = req.headers["content-length"];
      if (length !== undefined && Number(length) > limitOf(b)) {
        sendError(res, 413, "PayloadTooLarge", tooLarge(b, length), { connection: "close" });
        return route.service;
      }
      const denied = await authenticate(b, req.headers.authorization);
      if (denied) {
        authFailed(route.service, denied.reason, requestId);
        sendError(res, denied.status, denied.code, denied.message, { "www-authenticate": "Bearer", ...(req.headers.expect ? { connection: "close" } : {}) });
        return route.service;
      }
    }
    // `Expect: 100-continue`: the client sends its body only now that auth and size are fine.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    await proxy(req, res, b, route, requestId, start, query, choice);
    return choice.unit;
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const start = performance.now();
    const given = req.headers["x-ms-request-id"] ?? req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("x-ms-request-id", requestId);
    if (draining) res.setHeader("connection", "close");
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    switch (path) {
      // Probes: answered, not counted as requests.
      case "/healthz":
      case "/v2/health/live":
        return sendJson(res, 200, { status: "alive" });
      case "/readyz":
      case "/v2/health/ready":
        return ready ? sendJson(res, 200, { status: "ready" }) : sendError(res, 503, "NotReady", "router is not ready (starting or draining)");
    }
    active++;
    let service: string | undefined;
    handle(req, res, requestId, path, q < 0 ? "" : url.slice(q), start)
      .then(
        (s) => {
          service = s;
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message, requestId }, "unexpected error");
          sendError(res, 500, "InternalError", "the router failed to handle the request");
        },
      )
      .finally(() => {
        active--;
        // Every answer is counted: by service where one is known, as "unknown" otherwise.
        const status = res.statusCode;
        const label = service ?? "unknown";
        metrics.request(label, status, (performance.now() - start) / 1000);
        if (status >= 500) log.warn({ service: label, status, requestId, ms: Math.round(performance.now() - start) }, "request failed");
        else if (log.isLevelEnabled("debug")) log.debug({ service: label, status, requestId, ms: Math.round(performance.now() - start) }, "request");
      });
  };
  // Slow clients: headers must arrive within 10 s (checked every second, not Node's default 30 s);
  // the whole request within the deadline of the largest accepted body (router/body.ts).
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const serverOptions = { ...FRONT_DOOR_SERVER_OPTIONS, connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeout / 4))) };
  const server = opts.tls ? https.createServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key }, onRequest) : http.createServer(serverOptions, onRequest);
  server.headersTimeout = headersTimeout;
  server.requestTimeout = headersTimeout + bodyDeadlineMs(maxBody, bodyLimits);
  const maxConnections = connectionCap(openFileLimit(), opts.maxConnections);
  guardFrontDoor(server, { maxConnections, metrics, log, sendError, onRequest });

  const admin = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    // The status page (`/`, its assets, /status.json): the admin port only, like /metrics.
    if (req.method === "GET" && serveStatus(path, res, status)) return;
    if (path === "/metrics") {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        })
        .catch(() => sendError(res, 500, "InternalError", "metrics unavailable"));
      return;
    }
    if (path === "/internal/load") {
      const body = JSON.stringify(autoscaler.localLoad());
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    if (path === "/healthz") sendJson(res, 200, { status: "alive" });
    else if (path === "/readyz") ready ? sendJson(res, 200, { status: "ready" }) : sendError(res, 503, "NotReady", "router is not ready");
    else sendError(res, 404, "NotFound", `no admin route ${path}`);
  });

  const listen = (s: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
    });
  const port = await listen(server, opts.port ?? 0);
  const adminPort = await listen(admin, opts.adminPort ?? 0);
  ready = true;
  const scheme = opts.tls ? "https" : "http";
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  log.info({ port, adminPort, tls: Boolean(opts.tls), maxConnections, services: [...balancers.keys()] }, "router listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      draining = true;
      autoscaler.close();
      status.close();
      await new Promise((r) => setTimeout(r, opts.drainGraceMs ?? 1_000));
      server.close();
      server.closeIdleConnections();
      const longest = Math.max(0, ...[...balancers.values()].map((b) => b.settings.scoringTimeoutMs));
      const deadline = Date.now() + (opts.drainTimeoutMs ?? longest + 5_000);
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      admin.close();
      admin.closeAllConnections();
      await Promise.all([...balancers.values()].map((b) => b.close()));
      await opts.discovery.close();
      await opts.keys.close();
      await opts.coordinator?.close();
      log.info({ unfinished: active }, "router stopped");
    })());

  return {
    url: `${scheme}://${hostForUrl}:${port}`,
    port,
    adminUrl: `http://${hostForUrl}:${adminPort}`,
    metrics,
    autoscaler,
    log,
    load: () => autoscaler.localLoad(),
    close,
  };
}
