/**
 * The bare node:http + undici proxy: Node's floor for the router's design, so that the router's
 * cost splits into what Node's HTTP stack costs any proxy built this way and what the router adds.
 * It does what the router's forwarding path does and nothing else — the request body held whole
 * (a scoring body is small), one keep-alive undici Pool, `dispatch` with a raw handler (no stream
 * objects), the answer's headers passed through and its body written by one `res.end` — with no
 * auth, request id, routing, limits, balancing or metrics.
 *   node naive-proxy.js --upstream http://127.0.0.1:9000   → prints READY <url>
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Command } from "commander";
import { Pool, type Dispatcher } from "undici";

const { upstream } = new Command().requiredOption("--upstream <url>", "upstream URL").parse().opts<{ upstream: string }>();
const pool = new Pool(upstream, { pipelining: 1 });

function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const chunks: Buffer[] = [];
  const handler: Dispatcher.DispatchHandler = {
    // Present so that undici takes this as a handler of its current API (the router's), not the legacy one.
    onRequestStart() {},
    onResponseStart(_c, statusCode, headers) {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== "connection" && k !== "keep-alive" && k !== "transfer-encoding") out[k] = v;
      res.writeHead(statusCode, out);
    },
    onResponseData(_c, chunk) {
      chunks.push(chunk);
    },
    onResponseEnd() {
      res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    },
    onResponseError() {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
  pool.dispatch({ path: "/score", method: "POST", headers: ["content-type", req.headers["content-type"] ?? "application/json"], body }, handler);
}

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => forward(req, res, parts.length === 1 ? parts[0] : Buffer.concat(parts)));
});
server.listen(0, "127.0.0.1", () => console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.once("SIGTERM", () => server.close(() => void pool.close().then(() => process.exit(0))));
