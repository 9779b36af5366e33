/**
 * Forwarding one request to one replica with undici's dispatcher API: the request body is
 * streamed (never buffered whole, counted against the payload limit as it goes) and the
 * response is written straight into the client's response with backpressure.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { REPLICA_BUSY_HEADER } from "../core/naming";
import { PayloadTooLargeError, RateGuard, SlowBodyError, type BodyLimits, type BufferedBody } from "./body";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the caller's credentials, which the model never sees. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "authorization", "proxy-authorization", "expect"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/**
 * The client's body as undici reads it: first what was buffered before the slot was taken, then
 * the rest from the client under the minimum-rate guard. Nothing is read from the client until
 * undici asks (i.e. a connection to the replica exists): a request whose connection failed can
 * therefore be retried on another replica with its body untouched.
 */
export class BodySource extends Readable {
  bytes = 0;
  started = false;
  private guard?: RateGuard;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly buffered: BufferedBody,
    private readonly rate: { limits: BodyLimits; total: number },
  ) {
    super();
  }

  override _read(): void {
    if (this.started) {
      this.req.resume();
      return;
    }
    this.started = true;
    for (const chunk of this.buffered.chunks) this.push(chunk);
    this.bytes = this.buffered.bytes;
    this.guard = new RateGuard(this.rate.limits, this.rate.total, () => this.bytes, (err) => this.destroy(err));
    this.req.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.bytes > this.limit) {
        this.req.pause();
        this.destroy(new PayloadTooLargeError(this.limit));
        return;
      }
      if (!this.push(chunk)) this.req.pause();
    });
    this.req.on("end", () => {
      this.guard?.stop();
      this.push(null);
    });
    this.req.on("error", (err) => this.destroy(err));
    this.req.resume();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.guard?.stop();
    cb(err);
  }
}

/**
 * The headers the replica gets: the client's, less hop-by-hop ones (the fixed set and whatever
 * the client's `Connection` header names) and credentials, with the router's request id and an
 * `X-Forwarded-For` the model can trust: the client's own chain is kept (and the peer appended)
 * only when a proxy the operator trusts sits in front of the router; otherwise it is replaced.
 */
export function forwardHeaders(req: IncomingMessage, requestId: string, trustForwardedFor = false): string[] {
  const raw = req.rawHeaders;
  const named = new Set(
    String(req.headers.connection ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: string[] = [];
  const chain: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "x-forwarded-for") {
      if (trustForwardedFor) chain.push(raw[i + 1]);
      continue;
    }
    if (DROP_REQUEST.has(name) || named.has(name) || name === "x-ms-request-id" || name === "x-request-id") continue;
    out.push(raw[i], raw[i + 1]);
  }
  out.push("x-ms-request-id", requestId, "x-request-id", requestId);
  if (req.socket.remoteAddress) chain.push(req.socket.remoteAddress);
  if (chain.length > 0) out.push("x-forwarded-for", chain.join(", "));
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
 * Sends the request and streams the answer into `res`. Rejects with ForwardError; the caller
 * decides between retrying (nothing delivered) and an error answer.
 */
export function forward(
  dispatcher: Dispatcher,
  res: ServerResponse,
  opts: { path: string; method: Dispatcher.HttpMethod; headers: string[]; body: BodySource | Buffer | null; timeoutMs: number; onResponseHeaders?: (status: number) => Record<string, string> },
): Promise<ForwardResult> {
  return new Promise<ForwardResult>((resolve, reject) => {
    let delivered = false;
    let status = 0;
    let controller: Dispatcher.DispatchController | undefined;
    // The latest chunk is held back one step so that a one-chunk answer (most scoring answers)
    // leaves with its headers in a single write, by res.end(chunk).
    let held: Buffer | undefined;
    const onDrain = () => controller?.resume();
    const onClientGone = () => controller?.abort(new Error("client closed the connection"));
    res.on("drain", onDrain);
    res.on("close", onClientGone);
    const done = () => {
      res.off("drain", onDrain);
      res.off("close", onClientGone);
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
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(headers)) if (v !== undefined && !DROP_RESPONSE.has(k)) out[k] = v;
        if (opts.onResponseHeaders) Object.assign(out, opts.onResponseHeaders(statusCode));
        res.writeHead(statusCode, out);
      },
      onResponseData(c, chunk) {
        if (held && !res.write(held)) c.pause();
        held = chunk;
      },
      onResponseEnd() {
        done();
        res.end(held);
        resolve({ status, delivered: true });
      },
      onResponseError(_c, err) {
        done();
        // A body that failed because of the client (too much, too slow): that error, not undici's wrapper.
        const source = opts.body instanceof BodySource ? opts.body : undefined;
        const cause = source?.errored instanceof PayloadTooLargeError || source?.errored instanceof SlowBodyError ? source.errored : err;
        // A busy replica ran nothing: the request counts as undelivered, unless its streamed body was consumed.
        if (err instanceof ReplicaBusyError) return reject(new ForwardError(err, source?.started ?? false, false));
        reject(new ForwardError(cause, delivered || (source?.started ?? false), res.headersSent));
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
