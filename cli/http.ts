/**
 * The CLI's HTTP calls to local mode's admin API and to a router's admin port. node:http rather
 * than the global fetch: a command makes one or two calls and exits, and fetch's first use loads
 * undici and then holds the process open for its connection pool, together about 0.12 s of a
 * command that otherwise takes 0.15 s.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request; resolves with the whole answer, rejects when nothing answers. */
export function httpRequest(url: string | URL, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    // No keep-alive agent: the connection closes with the answer, so the process can exit at once.
    // A body goes with its length rather than chunked, as the clients of Azure ML's endpoints send it.
    const headers = init.body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) };
    const req = client.request(target, { method: init.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end(init.body);
  });
}
