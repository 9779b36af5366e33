/**
 * The public port's request handler: the order in which a request is checked (shape, route,
 * service, method, size, credentials) before it is forwarded, the probes, and the accounting of
 * every answer.
 */
import { randomUUID } from "node:crypto";
import type * as http from "node:http";
import type { Logger } from "pino";
import type { AuthGate, Denial } from "./authGate";
import type { ServiceBalancer } from "./balancer";
import type { Forwarder } from "./forward";
import type { RouterMetrics } from "./metrics";
import { requestTrace } from "./proxy";
import type { RouterTrace } from "../core/contracts/traceContext";
import { echoHeaders, idsBehindRouter } from "../core/contracts/requestId";
import { V1_PREFIX, allowedMethods, malformed, needsCredentials, parseRoute, requestIdsOf, splitTarget, type PayloadLimit, type Refusal, type Route } from "./request";
import { routerHeaders, sendError, sendJson } from "./respond";
import { VERSION_HEADER } from "../core/decisions/versions";
import type { VersionChoice, VersionTable } from "./versionTable";

/** State the handler shares with whoever starts and drains the router. */
export interface Lifecycle {
  /** Readiness probes answer 200 (off while starting and draining). */
  ready: boolean;
  /** Every answer asks the client to close its connection. */
  draining: boolean;
  /** Requests being answered (the drain waits for them). */
  inFlight: number;
}

export interface HandlerOptions {
  /** By unit key (a service version). */
  balancers: ReadonlyMap<string, ServiceBalancer>;
  versions: VersionTable;
  /** Random numbers in [0, 1) for the split and mirroring. */
  random: () => number;
  limit: PayloadLimit;
  auth: AuthGate;
  forwarder: Forwarder;
  lifecycle: Lifecycle;
  metrics: RouterMetrics;
  log: Logger;
}

/** Who a request is, as the router tells the replica and its own logs. */
interface RequestContext {
  requestId: string;
  /** The caller's ids go to the replica as sent (router/forward.ts Exchange). */
  idsAsSent: boolean;
  trace: RouterTrace;
}

export function publicHandler(o: HandlerOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { balancers, limit, lifecycle, metrics, log } = o;

  /**
   * Answers one request; returns the unit (service version) it was for, when known (for the
   * metrics) — at once when the answer needed no waiting, else as a promise.
   */
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, path: string, query: string, start: number, bad: Refusal | undefined): string | undefined | Promise<string | undefined> => {
    if (bad) {
      sendError(res, bad.status, bad.code, bad.message, bad.close ? { connection: "close" } : {});
      return undefined;
    }
    const route = parseRoute(path);
    if (!route) {
      sendError(res, 404, "NotFound", `no route for ${path}; scoring is POST /api/v1/service/<service>/score`);
      return undefined;
    }
    if (!o.versions.has(route.service)) {
      sendError(res, 404, "ServiceNotFound", `service '${route.service}' does not exist`);
      return undefined;
    }
    const allowed = allowedMethods(route);
    if (allowed && !allowed.includes(req.method ?? "")) {
      sendError(res, 405, "MethodNotAllowed", `${req.method} is not allowed here; use ${allowed.join(" or ")}`, { allow: allowed.join(", ") });
      return route.service;
    }
    if (route.kind === "modelReady") {
      const n = o.versions.unitsOf(route.service).reduce((sum, unit) => sum + (balancers.get(unit)?.readyReplicas() ?? 0), 0);
      if (n > 0) sendJson(res, 200, { name: route.service, ready: true, readyReplicas: n });
      else sendError(res, 503, "NoReadyReplica", `service '${route.service}' has no ready replica`);
      return route.service;
    }
    // The version: the one the caller pins (Azure ML's azureml-model-deployment header), else one by the split.
    const pinned = req.headers[VERSION_HEADER];
    const choice = o.versions.choose(route.service, typeof pinned === "string" ? pinned : undefined, o.random);
    if ("error" in choice) {
      if (pinned === undefined) sendError(res, 503, "NoLiveVersion", choice.error);
      else sendError(res, 404, "VersionNotFound", choice.error);
      return route.service;
    }
    const b = balancers.get(choice.unit)!;
    routerHeaders(res).push(VERSION_HEADER, choice.version);
    // Checked for size first, so an oversized body is refused before any token is verified.
    if (needsCredentials(route, req.method)) {
      const length = req.headers["content-length"];
      if (length !== undefined && Number(length) > limit.of(b)) {
        sendError(res, 413, "PayloadTooLarge", limit.tooLarge(b, length), { connection: "close" });
        return route.service;
      }
      const decision = o.auth.decide(route.service, b.settings, req.headers.authorization, ctx.requestId);
      if (decision instanceof Promise) return decision.then((denied) => (denied ? refuse(req, res, route.service, denied) : pass(req, res, b, route, choice, ctx, start, query)));
      if (decision) return refuse(req, res, route.service, decision);
    }
    return pass(req, res, b, route, choice, ctx, start, query);
  };

  /** The 401 for credentials that do not admit the caller. */
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, service: string, denied: Denial): string => {
    sendError(res, 401, "Unauthorized", denied.message, { "www-authenticate": "Bearer", ...(req.headers.expect ? { connection: "close" } : {}) });
    return service;
  };

  /** An admitted request on its way to the replica; resolves with its unit once answered. */
  const pass = async (req: http.IncomingMessage, res: http.ServerResponse, b: ServiceBalancer, route: Route, choice: VersionChoice, ctx: RequestContext, start: number, query: string): Promise<string> => {
    // `Expect: 100-continue`: the client sends its body only now that auth and size are fine.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    // Only scoring is mirrored: the mirror version is there to compare answers of the model.
    const mirror = route.kind === "score" || route.kind === "infer" ? choice.mirrorUnit : undefined;
    await o.forwarder.send({ req, res, balancer: b, route, ...ctx, version: choice.version, mirror }, start, query);
    return choice.unit;
  };

  return (req, res) => {
    const start = performance.now();
    const read = requestIdsOf(req);
    // The router's headers on every answer, the replica's included: the same ids either way.
    const headers = routerHeaders(res);
    let requestId: string;
    if ("ids" in read) {
      requestId = read.ids.msRequestId;
      for (const [name, value] of echoHeaders(idsBehindRouter(read.ids))) headers.push(name, value);
    } else {
      requestId = randomUUID();
      headers.push("x-ms-request-id", requestId);
    }
    if (lifecycle.draining) headers.push("connection", "close");
    const { path, query } = splitTarget(req.url);
    // Over-long request ids on a v1 path are the replica's to refuse (Azure ML's server answers
    // them in its own words, after the credentials check): they go on as sent. Elsewhere: 431 here.
    const idsAsSent = "refusal" in read && path.startsWith(V1_PREFIX);
    const bad = malformed(req) ?? ("refusal" in read && !idsAsSent ? read.refusal : undefined);
    // Probes: answered, not counted as requests; a malformed one is refused and counted like any other.
    if (!bad) {
      switch (path) {
        case "/healthz":
        case "/v2/health/live":
          return sendJson(res, 200, { status: "alive" });
        case "/readyz":
        case "/v2/health/ready":
          return lifecycle.ready ? sendJson(res, 200, { status: "ready" }) : sendError(res, 503, "NotReady", "router is not ready (starting or draining)");
      }
    }
    lifecycle.inFlight++;
    const trace = requestTrace(req);
    // Every answer is counted: by service where one is known, as "unknown" otherwise.
    const done = (service: string | undefined) => {
      lifecycle.inFlight--;
      const status = res.statusCode;
      const label = service ?? "unknown";
      const seconds = (performance.now() - start) / 1000;
      metrics.request(label, status, seconds);
      // The trace id beside the request id: the replica's records (scoring/telemetry.ts) carry the same one.
      if (status >= 500) log.warn({ service: label, status, requestId, traceId: trace.traceId, ms: Math.round(seconds * 1000) }, "request failed");
      else if (log.isLevelEnabled("debug")) log.debug({ service: label, status, requestId, traceId: trace.traceId, ms: Math.round(seconds * 1000) }, "request");
    };
    const failed = (err: unknown) => {
      log.error({ err: (err as Error).message, requestId, traceId: trace.traceId }, "unexpected error");
      sendError(res, 500, "InternalError", "the router failed to handle the request");
      done(undefined);
    };
    try {
      const answered = handle(req, res, { requestId, idsAsSent, trace }, path, query, start, bad);
      // Most answers the router gives itself are decided without waiting: no promise for them.
      if (answered instanceof Promise) answered.then(done, failed);
      else done(answered);
    } catch (err) {
      failed(err);
    }
  };
}
