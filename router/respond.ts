/** The router's JSON answers, shared by the public port, forwarding and the admin port. */
import type * as http from "node:http";

/** A JSON answer; once a response has started (a stream broke midway) the connection is cut instead. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** The router's error answer: `{"error": {"code", "message"}}`. */
export function sendError(res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, extra);
}
