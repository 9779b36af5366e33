/**
 * The baseline the router issue names: a naive Node proxy on undici (node:http server, one
 * keep-alive Pool, `pool.request` with the client's request as body, the answer piped back).
 * Measured in the same run as the router so "better than a naive proxy" is a figure, not a claim.
 *   node naive-proxy.js --upstream http://127.0.0.1:9000   → prints READY <url>
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import { Command } from "commander";
import { Pool } from "undici";

const { upstream } = new Command().requiredOption("--upstream <url>", "upstream URL").parse().opts<{ upstream: string }>();
const pool = new Pool(upstream, { pipelining: 1 });
const server = http.createServer((req, res) => {
  pool
    .request({ path: "/score", method: "POST", headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: req })
    .then(({ statusCode, headers, body }) => {
      res.writeHead(statusCode, headers);
      pipeline(body, res, () => undefined);
    })
    .catch(() => {
      res.statusCode = 502;
      res.end();
    });
});
server.listen(0, "127.0.0.1", () => console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.once("SIGTERM", () => server.close(() => void pool.close().then(() => process.exit(0))));
