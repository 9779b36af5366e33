/**
 * The public listener's guards below the request handler: a cap on open connections derived
 * from the process's open-file limit (idle keep-alive connections are shed first as it nears),
 * a cap on header count, and a JSON answer with a request id for everything Node's HTTP layer
 * would otherwise answer with an empty body or a closed socket (parse errors, a missing Host,
 * unknown `Expect`, `CONNECT`).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { KEEP_ALIVE_MS } from "../core/contracts/naming";
import type { RouterMetrics } from "./metrics";

/** Request headers the router reads at most; a request with more gets 431. */
export const MAX_REQUEST_HEADERS = 100;
/** Client connections never go above this, whatever the open-file limit allows. */
export const MAX_CONNECTIONS_CEILING = 10_000;
/** Idle keep-alive timeout once half the connection cap is used (KEEP_ALIVE_MS otherwise), so idle connections give way to new ones. */
export const KEEP_ALIVE_UNDER_PRESSURE_MS = 5_000;

/** The soft open-file limit of this process (Linux `/proc/self/limits`), if it can be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

/**
 * Client connections allowed: half of what the open-file limit leaves after a reserve of 256
 * (each proxied request also holds an upstream connection; the admin port, watches and files
 * need the reserve), at most MAX_CONNECTIONS_CEILING; `configured` wins when given.
 */
export function connectionCap(fdLimit: number | undefined, configured?: number): number {
  if (configured !== undefined) return configured;
  if (fdLimit === undefined) return MAX_CONNECTIONS_CEILING;
  return Math.max(16, Math.min(MAX_CONNECTIONS_CEILING, Math.floor((fdLimit - 256) / 2)));
}

/**
 * Longest an answer written straight to a socket may take to leave before the connection is
 * destroyed, whatever the peer does: ending a socket only half-closes it, and a peer that never
 * closes its side would otherwise keep the descriptor (and a place under the cap) for good.
 */
export const RAW_ANSWER_GRACE_MS = 1_000;

/** Writes a raw answer, then destroys the connection once it has left (or after the grace). */
function answerAndDestroy(socket: Duplex, answer: string): void {
  const timer = setTimeout(() => socket.destroy(), RAW_ANSWER_GRACE_MS);
  timer.unref();
  socket.end(answer, () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

/** A complete JSON error answer written straight to a socket (no request object exists yet). */
export function rawJsonAnswer(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-ms-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`;
}

export interface FrontDoorOptions {
  maxConnections: number;
  metrics: RouterMetrics;
  log: Logger;
  /** Answers a request with a JSON error (the router's own sender). */
  sendError: (res: http.ServerResponse, status: number, code: string, message: string) => void;
  /** The request handler; `Expect: 100-continue` requests reach it too, the 100 being its to send. */
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

/** Options for `http.createServer` that the guards rely on. */
export const FRONT_DOOR_SERVER_OPTIONS = {
  // Checked by the handler, which answers in JSON (Node's own check answers an empty 400).
  requireHostHeader: false,
} as const;

/** Installs the guards on the public server. */
export function guardFrontDoor(server: http.Server, opts: FrontDoorOptions): void {
  const { metrics, log } = opts;
  server.maxConnections = opts.maxConnections;
  // One more than the router reads, so that "more than allowed" is visible (Node drops the rest silently).
  server.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  let open = 0;
  let lastShed = 0;
  let refusedSinceLog = 0;
  let lastRefusalLog = 0;
  server.on("connection", (socket: Duplex) => {
    open++;
    metrics.connectionsOpen.set(open);
    socket.once("close", () => {
      open--;
      metrics.connectionsOpen.set(open);
      if (open < opts.maxConnections / 2) server.keepAliveTimeout = KEEP_ALIVE_MS;
    });
    if (open >= opts.maxConnections / 2) server.keepAliveTimeout = KEEP_ALIVE_UNDER_PRESSURE_MS;
    const now = Date.now();
    if (open >= opts.maxConnections * 0.9 && now - lastShed > 1_000) {
      lastShed = now;
      server.closeIdleConnections();
      log.warn({ open, cap: opts.maxConnections }, "near the connection cap: closed idle keep-alive connections");
    }
  });
  // Node refuses connections above maxConnections by closing them; count and log (at most once a second).
  server.on("drop", () => {
    metrics.connectionsRefused.inc();
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastRefusalLog >= 1_000) {
      log.warn({ refused: refusedSinceLog, cap: opts.maxConnections }, "connection cap reached: refusing new connections");
      refusedSinceLog = 0;
      lastRefusalLog = now;
    }
  });

  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // An answer already under way on this socket (the handler refused the request, then the parser
    // failed on what followed) must not get a second one written into it: Node's own handler makes
    // the same check, on the same internal field.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    metrics.request("unknown", status, 0);
    answerAndDestroy(socket, rawJsonAnswer(status, status === 400 ? "BadRequest" : status === 431 ? "HeadersTooLarge" : "RequestTimeout", `malformed or incomplete request (${err.code ?? "parse error"})`));
  });
  server.on("checkExpectation", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    metrics.request("unknown", 417, 0);
    res.setHeader("x-ms-request-id", randomUUID());
    opts.sendError(res, 417, "ExpectationFailed", "only 'Expect: 100-continue' is supported");
  });
  server.on("connect", (_req: http.IncomingMessage, socket: Duplex) => {
    metrics.request("unknown", 405, 0);
    answerAndDestroy(socket, rawJsonAnswer(405, "MethodNotAllowed", "CONNECT is not supported: this is not a forward proxy"));
  });
  // With this listener Node sends no automatic 100 Continue: the handler sends it once auth and size checks pass.
  server.on("checkContinue", opts.onRequest);
}
