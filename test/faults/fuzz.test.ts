/**
 * A small fuzz corpus of malformed, oversized, slow and unauthenticated requests, sent raw over
 * TCP: the router never crashes, and whenever it answers, it answers HTTP with a JSON error.
 */
import * as assert from "node:assert/strict";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";
import { rawExchange } from "../support/rawSocket";

interface Case {
  name: string;
  /** Raw bytes, sent in order, with an optional pause before each part. */
  parts: (string | Buffer | { pauseMs: number })[];
  /** Expected status, or undefined when the router may just close the connection. */
  status?: number;
  /** Close our side after sending (a client that lies about its body and leaves). */
  hangUp?: boolean;
}

const SCORE = "/api/v1/service/svc/score";
const corpus: Case[] = [
  { name: "garbage request line", parts: ["GARBAGE\r\n\r\n"], status: 400 },
  { name: "header without colon", parts: [`GET ${SCORE} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`], status: 400 },
  { name: "non-numeric Content-Length", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`], status: 400 },
  { name: "Content-Length and chunked together", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`], status: 400 },
  { name: "invalid chunk size", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`] },
  { name: "chunked body growing past the limit", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: chunked\r\n\r\n`, ...Array.from({ length: 6 }, () => `400\r\n${"a".repeat(1024)}\r\n`), "0\r\n\r\n"], status: 413 },
  { name: "declared oversized body", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 999999999\r\n\r\n`], status: 413 },
  { name: "lying Content-Length, then hang up", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 100\r\n\r\nshort`], hangUp: true },
  { name: "20 KB header", parts: [`GET ${SCORE} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`], status: 431 },
  { name: "unknown method", parts: [`BREW ${SCORE} HTTP/1.1\r\nHost: x\r\n\r\n`], status: 400 },
  { name: "wrong method on a v2 route", parts: [`DELETE /v2/models/svc/infer HTTP/1.1\r\nHost: x\r\n\r\n`], status: 405 },
  // A v1 service's methods and paths are its replica's to refuse (test/router/amlRoutes.test.ts), after credentials.
  { name: "other method on a v1 route, no credentials", parts: [`DELETE ${SCORE} HTTP/1.1\r\nHost: x\r\n\r\n`], status: 401 },
  { name: "unicode service name", parts: [Buffer.from(`POST /api/v1/service/ünï/score HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, "utf8")] },
  { name: "percent-encoded traversal", parts: [`POST /api/v1/service/%2e%2e%2fsvc/score HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`], status: 404 },
  { name: "null byte in path", parts: [Buffer.from(`POST /api/v1/service/s\u0000vc/score HTTP/1.1\r\nHost: x\r\n\r\n`, "latin1")], status: 400 },
  { name: "empty bearer", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\nContent-Length: 2\r\n\r\n{}`], status: 401 },
  { name: "basic auth instead of bearer", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\nContent-Length: 2\r\n\r\n{}`], status: 401 },
  { name: "slow loris", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\n`, { pauseMs: 300 }, "X-Slow: 1\r\n", { pauseMs: 400 }, "X-Slower: 1\r\n"], status: 408 },
  { name: "inherited property name as route", parts: [`POST /v2/models/svc/constructor HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`], status: 404 },
  { name: "pipelined good then bad", parts: [`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nNONSENSE\r\n\r\n`], status: 200 },
  { name: "HTTP/1.1 without Host", parts: [`POST ${SCORE} HTTP/1.1\r\nContent-Length: 0\r\n\r\n`], status: 400 },
  { name: "unknown expectation", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n`], status: 417 },
  { name: "CONNECT", parts: [`CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n`], status: 405 },
  {
    name: "Content-Length after 1,000 other headers",
    parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\n${Array.from({ length: 1000 }, (_, i) => `x${i}: 1\r\n`).join("")}Content-Length: 2\r\n\r\n{}`],
    status: 431,
  },
  { name: "two Host headers", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 0\r\n\r\n`], status: 400 },
  { name: "a transfer coding before chunked", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`], status: 501 },
  // On a v2 path the router refuses it; on a v1 path it is the replica's to refuse (test/router/amlRoutes.test.ts).
  { name: "request id over 100 characters", parts: [`POST /v2/models/svc/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nx-ms-request-id: ${"i".repeat(101)}\r\nContent-Length: 0\r\n\r\n`], status: 431 },
  { name: "two Authorization headers", parts: [`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nAuthorization: Bearer nope\r\nContent-Length: 0\r\n\r\n`], status: 400 },
];

function send(port: number, c: Case): Promise<string> {
  return rawExchange(port, async (socket) => {
    for (const p of c.parts) {
      if (typeof p === "object" && "pauseMs" in p) await new Promise((r) => setTimeout(r, p.pauseMs));
      else if (!socket.destroyed) socket.write(p);
    }
    if (c.hangUp) socket.destroy();
    else setTimeout(() => socket.end(), 1_000);
  });
}

describe("router fuzz corpus", function () {
  this.timeout(60_000);
  let router: RouterHandle;
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream("svc");
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc"));
    discovery.addReplica("svc", { id: "a", url: upstream.url });
    const keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
    router = await routerWith(discovery, keys, { maxBodyBytes: 4096, headersTimeoutMs: 500 });
  });
  after(async () => {
    await router.close();
    await upstream.close();
  });

  for (const c of corpus) {
    it(`${c.name}: ${c.status ? `answers ${c.status} with a JSON error` : "never crashes the router"}`, async () => {
      const raw = await send(router.port, c);
      if (c.status !== undefined) {
        assert.match(raw, new RegExp(`^HTTP/1\\.1 ${c.status} `), `got: ${raw.slice(0, 300)}`);
      }
      for (const response of raw.split(/(?=HTTP\/1\.1 \d{3} )/).filter(Boolean)) {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
        assert.ok(status > 0, `not an HTTP answer: ${response.slice(0, 80)}`);
        const [head, ...rest] = response.split("\r\n\r\n");
        const body = rest.join("\r\n\r\n");
        if (status >= 400) assert.ok(JSON.parse(body).error.message, `error without JSON message: ${body.slice(0, 80)}`);
        assert.match(head, /\r\nx-ms-request-id: \S+/i, `answer without a request id: ${head}`);
      }
      const health = await fetch(`${router.url}/healthz`);
      assert.equal(health.status, 200, "router still alive");
    });
  }

  it("still routes real traffic after the whole corpus", async () => {
    const res = await fetch(`${router.url}${SCORE}`, { method: "POST", body: "{}", headers: { authorization: "Bearer k2" } });
    assert.equal(res.status, 200);
  });
});
