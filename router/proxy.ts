/**
 * Forwarding one request to one replica with undici's dispatcher API: the request body, already
 * held whole by the router (router/body.ts), goes at the replica's pace; the answer is written
 * into the client's response, and what a slow client has not taken yet waits in router memory
 * rather than in the replica's slot.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { REPLICA_BUSY_HEADER } from "../core/contracts/naming";
import { VERSION_HEADER } from "../core/decisions/versions";
import { REPLICA_TOKEN_HEADER } from "../core/contracts/replicaToken";
import { formatTraceparent, routerTrace, type RouterTrace } from "../core/contracts/traceContext";
import { RateGuard, type BodyLimits } from "./body";
import { routerHeaders } from "./respond";
import type { Budget } from "./spool";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the caller's credentials, which the model never sees. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "authorization", "proxy-authorization", "expect"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/**
 * Headers that say who the client is and how it reached the router. A client can write any of
 * them, so the model sees the client's own only when a proxy the operator trusts sits in front
 * (`router.trustForwardedFor`); otherwise the router drops them all and states what it saw itself.
 */
const CLIENT_ADDRESS = new Set(["x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-proto"]);

/** Trace context headers: the caller's are replaced by the router's own (core/contracts/traceContext.ts). */
const TRACE_HEADERS = new Set(["traceparent", "tracestate"]);

// Random bytes are drawn 4 KiB at a time: one system call per ~170 requests, not two per request.
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;
/** `chars` random hex characters (an even number). */
export function randomHex(chars: number): string {
  const bytes = chars / 2;
  if (poolUsed + bytes > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  poolUsed += bytes;
  return pool.toString("hex", poolUsed - bytes, poolUsed);
}

/**
 * The trace context a request goes on with (core/contracts/traceContext.ts routerTrace): the caller's valid
 * `traceparent` unchanged, else a new trace. Made once per request by the handler, which logs its
 * trace id and hands it to the forwarded headers, so both name the same trace.
 */
export function requestTrace(req: IncomingMessage): RouterTrace {
  // Node joins repeated headers with ", ": a repeated traceparent is then invalid (as the
  // specification wants), repeated tracestate headers are one list (as it wants too).
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(",") : v;
  };
  return routerTrace(header("traceparent"), header("tracestate"), randomHex);
}

/** What the router decided about a request that its forwarded headers carry. */
export interface Forwarding {
  /** The router's id; undefined: the caller's ids go as sent (the replica refuses them itself). */
  requestId: string | undefined;
  trace: RouterTrace;
  /** The service version the request goes to (VERSION_HEADER: the replica records it, it does not know its version otherwise). */
  version: string;
  /** Keep the client-address headers of a proxy the operator trusts. */
  trustForwardedFor?: boolean;
  /** Local mode: the secret its replicas require (core/contracts/replicaToken.ts). */
  replicaToken?: string;
}

/**
 * The headers the replica gets: the client's, less hop-by-hop ones (the fixed set and whatever
 * the client's `Connection` header names) and credentials, with the router's request id and the
 * client-address headers (CLIENT_ADDRESS): `X-Forwarded-For` (the peer appended to a trusted
 * chain, else the peer alone), `X-Forwarded-Proto` and `X-Forwarded-Host` (a trusted proxy's, else
 * the router's own view); a trusted proxy's `Forwarded` and `X-Real-IP` pass, an untrusted client's do not.
 */
export function forwardHeaders(req: IncomingMessage, { requestId, trace, version, trustForwardedFor = false, replicaToken }: Forwarding): string[] {
  const raw = req.rawHeaders;
  const connection = req.headers.connection;
  const named = connection ? new Set(connection.split(",").map((t) => t.trim().toLowerCase())) : undefined;
  const out: string[] = [];
  const chain: string[] = [];
  let proto: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (CLIENT_ADDRESS.has(name)) {
      if (!trustForwardedFor) continue;
      if (name === "x-forwarded-for") chain.push(raw[i + 1]);
      else {
        if (name === "x-forwarded-proto") proto = raw[i + 1];
        else if (name === "x-forwarded-host") host = raw[i + 1];
        out.push(raw[i], raw[i + 1]);
      }
      continue;
    }
    // A client's own REPLICA_TOKEN_HEADER never passes (local mode's router sends the real one below).
    if (DROP_REQUEST.has(name) || named?.has(name) || name === REPLICA_TOKEN_HEADER || TRACE_HEADERS.has(name)) continue;
    if (requestId !== undefined && (name === "x-ms-request-id" || name === "x-request-id")) continue;
    if (name === VERSION_HEADER) continue;
    out.push(raw[i], raw[i + 1]);
  }
  if (requestId !== undefined) out.push("x-ms-request-id", requestId, "x-request-id", requestId);
  out.push(VERSION_HEADER, version);
  out.push("traceparent", formatTraceparent(trace.traceId, trace.spanId, trace.flags));
  if (trace.tracestate !== undefined) out.push("tracestate", trace.tracestate);
  if (replicaToken) out.push(REPLICA_TOKEN_HEADER, replicaToken);
  if (req.socket.remoteAddress) chain.push(req.socket.remoteAddress);
  if (chain.length > 0) out.push("x-forwarded-for", chain.join(", "));
  if (proto === undefined) out.push("x-forwarded-proto", (req.socket as TLSSocket).encrypted ? "https" : "http");
  if (host === undefined && req.headers.host !== undefined) out.push("x-forwarded-host", req.headers.host);
  return out;
}

export interface ForwardResult {
  status: number;
  /** The request reached the replica (its connection was up and sending began). */
  delivered: boolean;
}

/** The replica answered "busy" (REPLICA_BUSY_HEADER): it did not run the request. */
export class ReplicaBusyError extends Error {}

export class ForwardError extends Error {
  constructor(
    readonly cause: Error,
    /** Whether any part of the request may have reached the replica. */
    readonly delivered: boolean,
    /** Whether the client has already been sent a status line. */
    readonly responseStarted: boolean,
  ) {
    super(cause.message);
  }
}

/**
 * The headers of a replica's answer as the client gets them, as one flat list (Node writes it
 * without merging): the replica's, less hop-by-hop ones, then the router's (router/respond.ts)
 * where the replica sent none of that name (or only a hop-by-hop one, dropped) — the router's
 * request id always — and, on an error, azureml-fe's `ms-azureml-model-error-statuscode`, so the
 * model's own status stays visible.
 */
function answerHeaders(replica: Record<string, string | string[] | undefined>, router: readonly string[], status: number): (string | string[])[] {
  const out: (string | string[])[] = [];
  for (const name in replica) {
    const value = replica[name];
    if (value === undefined || DROP_RESPONSE.has(name) || name === "x-ms-request-id") continue;
    out.push(name, value);
  }
  for (let i = 0; i < router.length; i += 2) {
    const name = router[i];
    const lower = name.toLowerCase();
    // A replica's hop-by-hop header (its `connection: keep-alive`) was dropped above: the router's
    // own (`connection: close` while draining) then stands.
    if (name === "x-ms-request-id" || replica[lower] === undefined || DROP_RESPONSE.has(lower)) out.push(name, router[i + 1]);
  }
  if (status >= 400) out.push("ms-azureml-model-error-statuscode", String(status));
  return out;
}

/** What answers need to wait for a client that reads slowly: the minimum rate, and the memory they share. */
export interface AnswerLimits {
  limits: BodyLimits;
  memory: Budget;
}

/**
 * Sends the request and streams the answer into `res`. Resolves as soon as the replica has
 * answered in full, so its slot is free: what the client has not taken yet waits in router
 * memory (under the shared budget) and must be taken at no less than the minimum rate, else the
 * client's connection is closed. Only when the budget is full does the replica wait for the
 * client. Rejects with ForwardError; the caller decides between retrying (nothing delivered) and
 * an error answer.
 */
export function forward(
  dispatcher: Dispatcher,
  res: ServerResponse,
  opts: {
    path: string;
    method: Dispatcher.HttpMethod;
    headers: string[];
    body: Readable | Buffer | null;
    timeoutMs: number;
    answers: AnswerLimits;
    /** Called when the replica's answer starts (a final status, not a busy answer). */
    onResponseStart?: (status: number) => void;
  },
): Promise<ForwardResult> {
  return new Promise<ForwardResult>((resolve, reject) => {
    let delivered = false;
    let status = 0;
    let controller: Dispatcher.DispatchController | undefined;
    let replicaDone = false;
    // The latest chunk is held back one step so that a one-chunk answer (most scoring answers)
    // leaves with its headers in a single write, by res.end(chunk).
    let held: Buffer | undefined;
    // Set once the client pushed back (res.write returned false): chunks wait here.
    let backlog: AnswerBacklog | undefined;
    const onDrain = () => backlog?.drain();
    const onClientGone = () => {
      backlog?.discard();
      if (!replicaDone) controller?.abort(new Error("client closed the connection"));
    };
    res.on("close", onClientGone);
    const done = () => {
      replicaDone = true;
      if (backlog) return; // the backlog's listeners stay until the client has it all
      res.off("close", onClientGone);
    };
    const send = (chunk: Buffer) => {
      if (backlog) backlog.push(chunk);
      else if (!res.write(chunk)) {
        // The client pushed back: from now on chunks wait in the backlog, sent on at each drain.
        backlog = new AnswerBacklog(res, opts.answers, () => controller);
        res.on("drain", onDrain);
      }
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        delivered = true;
      },
      onResponseStart(c, statusCode, headers) {
        controller = c;
        if (statusCode < 200) return; // 1xx: the final answer follows
        if (statusCode === 503 && headers[REPLICA_BUSY_HEADER] !== undefined) {
          // Nothing goes to the client: the router tries again.
          c.abort(new ReplicaBusyError("replica busy"));
          return;
        }
        status = statusCode;
        opts.onResponseStart?.(statusCode);
        res.writeHead(statusCode, answerHeaders(headers, routerHeaders(res), statusCode));
      },
      onResponseData(_c, chunk) {
        if (held) send(held);
        held = chunk;
      },
      onResponseEnd() {
        done();
        if (backlog) {
          if (held) backlog.push(held);
          backlog.end();
        } else res.end(held);
        resolve({ status, delivered: true });
      },
      onResponseError(_c, err) {
        done();
        backlog?.discard();
        // A busy replica ran nothing: the request counts as undelivered (the body is held whole, so it can go again).
        if (err instanceof ReplicaBusyError) return reject(new ForwardError(err, false, false));
        reject(new ForwardError(err, delivered, res.headersSent));
      },
    };
    dispatcher.dispatch(
      {
        path: opts.path,
        method: opts.method,
        headers: opts.headers,
        body: opts.body,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      handler,
    );
  });
}

/**
 * An answer's chunks the client has not taken yet. They are counted against the router's memory
 * budget; past it the replica is paused (the one case where a slow reader holds a slot, for as
 * long as the budget is full). Whenever chunks wait, the client must take them at the minimum
 * rate (checked over the rate window), or its connection is closed.
 */
class AnswerBacklog {
  private readonly chunks: { chunk: Buffer; counted: boolean }[] = [];
  private counted = 0;
  private taken = 0;
  private ended = false;
  private pausedReplica = false;
  private readonly guard: RateGuard;

  constructor(
    private readonly res: ServerResponse,
    private readonly o: AnswerLimits,
    private readonly replica: () => Dispatcher.DispatchController | undefined,
  ) {
    this.guard = new RateGuard(o.limits, Number.POSITIVE_INFINITY, () => this.taken, (err) => {
      // Only a client with something waiting for it is slow; an idle one waits for the replica.
      if (this.chunks.length > 0 || res.writableLength > 0) res.destroy(err);
    });
    res.once("close", () => this.discard());
    res.once("finish", () => this.guard.stop());
  }

  push(chunk: Buffer): void {
    const counted = this.o.memory.take(chunk.length);
    if (counted) this.counted += chunk.length;
    else if (!this.pausedReplica) {
      this.pausedReplica = true;
      this.replica()?.pause();
    }
    this.chunks.push({ chunk, counted });
  }

  /** The replica has answered in full: end the client's answer once it has taken the rest. */
  end(): void {
    this.ended = true;
    this.drain();
  }

  /** The client took what it had: give it more, up to its push back. */
  drain(): void {
    while (this.chunks.length > 0) {
      const { chunk, counted } = this.chunks.shift()!;
      if (counted) {
        this.o.memory.give(chunk.length);
        this.counted -= chunk.length;
      }
      this.taken += chunk.length;
      if (!this.res.write(chunk)) return;
    }
    if (this.pausedReplica) {
      this.pausedReplica = false;
      this.replica()?.resume();
    }
    if (this.ended) this.res.end();
  }

  /** The client is gone: return the memory. */
  discard(): void {
    this.guard.stop();
    this.o.memory.give(this.counted);
    this.counted = 0;
    this.chunks.length = 0;
  }
}
