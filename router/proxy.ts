/**
 * Forwarding one request to one replica with undici's dispatcher API: the request body is
 * streamed (never buffered whole, counted against the payload limit as it goes) and the
 * response is written straight into the client's response with backpressure.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the caller's credential, which the model never sees. */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "authorization", "expect"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds the ${limit}-byte limit`);
  }
}

/**
 * The client's body as undici reads it. Nothing is read from the client until undici asks
 * (i.e. a connection to the replica exists): a request whose connection failed can therefore be
 * retried on another replica with its body untouched.
 */
export class BodySource extends Readable {
  bytes = 0;
  started = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
  ) {
    super();
  }

  override _read(): void {
    if (this.started) {
      this.req.resume();
      return;
    }
    this.started = true;
    this.req.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.bytes > this.limit) {
        this.req.pause();
        this.destroy(new PayloadTooLargeError(this.limit));
        return;
      }
      if (!this.push(chunk)) this.req.pause();
    });
    this.req.on("end", () => this.push(null));
    this.req.on("error", (err) => this.destroy(err));
  }
}

export function forwardHeaders(req: IncomingMessage, requestId: string): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (DROP_REQUEST.has(name) || name === "x-ms-request-id" || name === "x-request-id") continue;
    out.push(raw[i], raw[i + 1]);
  }
  out.push("x-ms-request-id", requestId, "x-request-id", requestId);
  const forwardedFor = req.socket.remoteAddress;
  if (forwardedFor) out.push("x-forwarded-for", forwardedFor);
  return out;
}

export interface ForwardResult {
  status: number;
  /** The request reached the replica (its connection was up and sending began). */
  delivered: boolean;
}

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
        // A body that failed because the client sent too much: that error, not undici's wrapper.
        const source = opts.body instanceof BodySource ? opts.body : undefined;
        const cause = source?.errored instanceof PayloadTooLargeError ? source.errored : err;
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
