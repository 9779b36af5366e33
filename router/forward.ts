/**
 * Getting one scoring request to one of its service's replicas: the whole body is read before a
 * replica slot is taken, a replica is chosen by the balancer, and a failure that cannot have
 * reached the model is retried on another replica. Moving the bytes to and from the chosen
 * replica is router/proxy.ts's part.
 */
import type * as http from "node:http";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { BalancerError, type ReplicaSlot, type ServiceBalancer } from "./balancer";
import { BodyBudgetError, PayloadTooLargeError, SlowBodyError, readBody, type BodyLimits, type BodyStore, type HeldBody } from "./body";
import { labelsOf, type RouterMetrics } from "./metrics";
import { sendMirror } from "./mirror";
import type { RouterTrace } from "../core/contracts/traceContext";
import { ForwardError, ReplicaBusyError, forward, forwardHeaders } from "./proxy";
import { upstreamPath, type PayloadLimit, type Route } from "./request";
import { sendError } from "./respond";

/** Pause before asking a busy replica again once every replica has answered busy. */
const BUSY_RETRY_MS = 20;
/** How much longer than a service's scoring timeout the router waits for the replica's own answer. */
const REPLICA_TIMEOUT_MARGIN_MS = 1_000;
/** Errors of the connect phase: nothing reached the replica, so another one may take the request. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);
const MAX_ATTEMPTS = 3;

/** One client request on its way to a service (what every step below needs to answer it). */
export interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  balancer: ServiceBalancer;
  route: Route;
  requestId: string;
  /**
   * The caller's request ids go to the replica as sent (a v1 request whose ids are too long: the
   * replica refuses them in its own words, as Azure ML's server does); else the router's id.
   */
  idsAsSent?: boolean;
  /** The trace context this request goes on with (router/proxy.ts requestTrace). */
  trace: RouterTrace;
  /** The service version chosen for it. */
  version: string;
  /** The mirror version's unit when a copy of this request goes there (core/decisions/versions.ts). */
  mirror?: string;
}

export interface ForwarderOptions {
  /** The balancers by unit key, where a mirror version's is found. */
  balancers: ReadonlyMap<string, ServiceBalancer>;
  limit: PayloadLimit;
  bodyLimits: BodyLimits;
  /** Router memory and disk shared by every body being held (and memory by unread answers). */
  bodyStore: BodyStore;
  metrics: RouterMetrics;
  log: Logger;
  /** Keep the client's X-Forwarded-For chain (a trusted proxy sits in front). */
  trustForwardedFor?: boolean;
  /** Local mode: the secret its replicas require (core/contracts/replicaToken.ts). */
  replicaToken?: string;
}

export class Forwarder {
  constructor(private readonly o: ForwarderOptions) {}

  /** Forwards an authorised request and answers the client; `start` is when the request arrived. */
  async send(x: Exchange, start: number, query: string): Promise<void> {
    const readStart = performance.now();
    const body = await this.readBody(x);
    if (body === null) return;
    // The client's pace is not routing time: the overhead metric (self-scaling's input) leaves out
    // the time the body took to arrive.
    const routingStart = start + (performance.now() - readStart);
    try {
      await this.forwardHeld(x, routingStart, upstreamPath(x.route, query), body);
    } finally {
      body?.release();
    }
  }

  /**
   * The whole body, read before a replica slot is taken, so a slow client holds router memory
   * and disk, never a replica. Undefined when the request has no body; an error answer has been
   * sent when it returns null.
   */
  private async readBody({ req, res, balancer: b }: Exchange): Promise<HeldBody | undefined | null> {
    const length = req.headers["content-length"];
    // Any method may carry a body (v1 paths forward every method to the replica): one declared is read and sent on.
    const hasBody = length !== undefined ? length !== "0" : req.headers["transfer-encoding"] !== undefined;
    if (!hasBody) return undefined;
    try {
      return await readBody(req, { maxBody: this.o.limit.of(b), declared: length === undefined ? undefined : Number(length), limits: this.o.bodyLimits, store: this.o.bodyStore });
    } catch (err) {
      if (err instanceof PayloadTooLargeError) sendError(res, 413, "PayloadTooLarge", this.o.limit.tooLarge(b), { connection: "close" });
      else if (err instanceof SlowBodyError) sendError(res, 408, "RequestTimeout", err.message, { connection: "close" });
      else if (err instanceof BodyBudgetError) {
        if (err.cause instanceof Error) this.o.log.error({ service: b.settings.name, err: err.cause.message }, "request body spool failed");
        sendError(res, 503, "RouterBusy", err.message, { "retry-after": "1", connection: "close" });
      }
      else throw err;
      return null;
    }
  }

  /**
   * A copy of the request to the mirror version, beside the live one: nothing of it reaches this
   * caller (router/mirror.ts). `body` undefined: the body is not in memory (it was spooled to disk).
   */
  private mirror(unit: string, method: Dispatcher.HttpMethod, path: string, headers: string[], body: Buffer | null | undefined): void {
    const mirror = this.o.balancers.get(unit);
    if (!mirror) return;
    const labels = labelsOf(unit);
    sendMirror(mirror, { method, path, headers, body }, mirror.settings.scoringTimeoutMs, (outcome) => this.o.metrics.mirrored.labels({ ...labels, outcome }).inc());
  }

  /** Attempts until a replica answers, the failure is one to report, or the busy wait runs out. */
  private async forwardHeld(x: Exchange, start: number, path: string, held: HeldBody | undefined): Promise<void> {
    const { req, res, balancer: b, route, requestId } = x;
    const whole = held?.whole;
    const headers = forwardHeaders(req, { requestId: x.idsAsSent ? undefined : requestId, trace: x.trace, version: x.version, trustForwardedFor: this.o.trustForwardedFor, replicaToken: this.o.replicaToken });
    if (x.mirror) this.mirror(x.mirror, req.method as Dispatcher.HttpMethod, path, headers, held === undefined ? null : whole);
    const tried = new Set<string>();
    let busySince: number | undefined;
    let pauseFirst = false;
    for (let attempt = 1; ; attempt++) {
      // Every replica answered busy: wait a moment (holding no slot) before asking again.
      if (pauseFirst) await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
      pauseFirst = false;
      // A free replica is taken at once; only a full service waits in the queue.
      const slot = b.tryAcquire(tried) ?? (await this.acquire(x, tried));
      if (!slot) return;
      const acquiredAt = performance.now();
      try {
        await forward(slot.pool, res, {
          path,
          method: req.method as Dispatcher.HttpMethod,
          headers,
          body: held === undefined ? null : (whole ?? Readable.from(held.read(), { objectMode: false })),
          answers: { limits: this.o.bodyLimits, memory: this.o.bodyStore.memory },
          // The replica enforces scoringTimeoutMs itself (a Python service answers its own timeout
          // as Azure ML does); the router waits a little longer so that answer wins the race.
          timeoutMs: b.settings.scoringTimeoutMs + REPLICA_TIMEOUT_MARGIN_MS,
          onResponseStart: () => this.o.metrics.routingOverhead((acquiredAt - start) / 1000),
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
          this.o.log.warn({ service: route.service, replica: slot.replica.id, code, requestId, traceId: x.trace.traceId }, "replica unreachable, retrying on another");
          tried.add(slot.replica.id);
          continue;
        }
        return this.answerFailure(x, slot, err, code);
      } finally {
        b.release(slot);
      }
    }
  }

  /** A slot on a replica not in `tried`; undefined when the queue refused (the 503 has been sent). */
  private async acquire({ res, balancer: b }: Exchange, tried: ReadonlySet<string>): Promise<ReplicaSlot | undefined> {
    try {
      return await b.acquire(tried);
    } catch (err) {
      if (!(err instanceof BalancerError)) throw err;
      const retryAfter = String(Math.max(1, Math.ceil(b.settings.maxQueueWaitMs / 1000)));
      sendError(res, err.status, err.code, err.message, { "retry-after": retryAfter });
      return undefined;
    }
  }

  /** The answer to a failure that is not retried. */
  private answerFailure({ req, res, balancer: b, route, requestId, trace }: Exchange, slot: ReplicaSlot, err: ForwardError, code: string): void {
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
      return sendError(res, 504, "ScoringTimeout", `service '${route.service}' did not answer within ${b.settings.scoringTimeoutMs} ms`);
    }
    if (res.destroyed || req.socket.destroyed) return; // the client went away (req itself is destroyed once fully read)
    this.o.log.error({ service: route.service, replica: slot.replica.id, code, err: err.message, requestId, traceId: trace.traceId }, "forwarding failed");
    sendError(
      res,
      502,
      "BadGateway",
      `replica of service '${route.service}' failed: ${err.delivered ? "the connection broke after the request was sent (not retried: it may have reached the model)" : err.message}`,
    );
  }
}
