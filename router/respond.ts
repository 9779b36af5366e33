/** The router's JSON answers, shared by the public port, forwarding and the admin port. */
import type * as http from "node:http";

const ROUTER_HEADERS = Symbol("routerHeaders");
type WithRouterHeaders = http.ServerResponse & { [ROUTER_HEADERS]?: string[] };

/**
 * The headers the router puts on every answer to one request (its request ids, the version,
 * `Connection: close` while draining), as a flat name/value list. They are kept here, not set
 * with `setHeader`, until the answer is written: a replica's answer then leaves with one flat
 * header list (router/proxy.ts), which Node writes without merging, and the router's own
 * answers get them from sendJson.
 */
export function routerHeaders(res: http.ServerResponse): string[] {
  return ((res as WithRouterHeaders)[ROUTER_HEADERS] ??= []);
}

/** A JSON answer; once a response has started (a stream broke midway) the connection is cut instead. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const pending = (res as WithRouterHeaders)[ROUTER_HEADERS];
  if (pending) for (let i = 0; i < pending.length; i += 2) res.setHeader(pending[i], pending[i + 1]);
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** The router's error answer: `{"error": {"code", "message"}}`. */
export function sendError(res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, extra);
}
