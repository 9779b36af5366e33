/**
 * The front door under attack, with raw sockets on 127.0.0.1 (bounded in count and time): slow
 * uploads cost router memory, never a replica slot; a connection flood is capped, counted and
 * logged while the admin port stays reachable; header tricks and `Expect` get contract answers;
 * the model sees only the headers it should; every answer is counted.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import pino from "pino";
import { connectionCap, openFileLimit } from "../../router/frontDoor";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle, RouterOptions } from "../../router/server";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";
import { firstErrorAnswer, rawRequest } from "../support/rawSocket";

const SCORE = "/api/v1/service/svc/score";

/** Opens a socket, writes `head`, then `trickle` one byte every `everyMs`; resolves with what came back. */
function slowClient(port: number, head: string, trickle: { bytes: number; everyMs: number }, timeoutMs: number): Promise<{ raw: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let raw = "";
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (d) => (raw += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      clearTimeout(done);
      resolve({ raw, ms: Date.now() - started });
    });
    socket.on("connect", () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent++ < trickle.bytes && !socket.destroyed) socket.write(head.includes("chunked") ? "1\r\nx\r\n" : "x");
      }, trickle.everyMs);
    });
  });
}

const raw = (port: number, bytes: string, waitMs = 1_500) => rawRequest(port, bytes, waitMs);

async function metricsText(router: RouterHandle): Promise<string> {
  return (await fetch(`${router.adminUrl}/metrics`)).text();
}

describe("router: front door hardening", function () {
  this.timeout(60_000);
  let upstream: Upstream;
  let router: RouterHandle;
  const start = async (over: Partial<RouterOptions> = {}, routing = {}) => {
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", { maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 2_000, ...routing }));
    discovery.addReplica("svc", { id: "a", url: upstream.url });
    const keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
    router = await routerWith(discovery, keys, over);
  };
  beforeEach(async () => {
    upstream = await startUpstream("a", { delayMs: 5 });
  });
  afterEach(async () => {
    await router.close();
    await upstream.close();
  });

  describe("slow uploads", () => {
    const limits = { bufferBytes: 4096, minBytesPerSecond: 1024, rateWindowMs: 1_000, budgetBytes: 64 * 1024 };

    it("a chunked body trickling in holds no replica slot: others are served, the slow one gets 408", async () => {
      await start({ bodyLimits: limits });
      const slow = slowClient(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: chunked\r\n\r\n`, { bytes: 1_000, everyMs: 100 }, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      const fast: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) fast.push((await call(`${router.url}${SCORE}`, { key: "k1" })).status);
      const fastMs = Date.now() - t0;
      assert.deepEqual(fast, Array(20).fill(200), "the one replica slot stays free for others");
      assert.ok(fastMs < 3_000, `20 sequential requests took ${fastMs} ms`);
      const { raw: answer, ms } = await slow;
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /"code":"RequestTimeout"/);
      // 4 KiB at 1 KiB/s plus the 1 s grace: cut after about 5 s, not after a fixed 300 s.
      assert.ok(ms < 8_000, `cut after ${ms} ms`);
      assert.equal(upstream.hits.length, 20, "the slow body never reached the replica");
    });

    it("a large body streamed below the minimum rate is cut with 408 and frees its slot", async () => {
      await start({ bodyLimits: limits });
      const head = `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 65536\r\n\r\n${"x".repeat(4096)}`;
      const { raw: answer, ms } = await slowClient(router.port, head, { bytes: 60_000, everyMs: 50 }, 15_000);
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /below the minimum of 1024 B\/s/);
      assert.ok(ms < 5_000, `cut after ${ms} ms`);
      assert.equal((await call(`${router.url}${SCORE}`, { key: "k1" })).status, 200, "the slot is free again");
    });

    it("bodies held are capped: past the memory budget they go to disk, past the disk budget new bodies get 503, memory is counted and returned", async () => {
      await start({ bodyLimits: { ...limits, budgetBytes: 6_000, spoolBytes: 0 } });
      const head = `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 4000\r\n\r\n${"x".repeat(3_500)}`;
      const first = slowClient(router.port, head, { bytes: 0, everyMs: 1_000 }, 8_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.match(await metricsText(router), /aksinf_router_body_buffer_bytes 3500/);
      const second = await slowClient(router.port, head, { bytes: 0, everyMs: 1_000 }, 3_000);
      assert.match(second.raw, /^HTTP\/1\.1 503 /);
      assert.match(second.raw, /"code":"RouterBusy"/);
      assert.match((await first).raw, /^HTTP\/1\.1 408 /);
      assert.match(await metricsText(router), /aksinf_router_body_buffer_bytes 0/);
    });
  });

  describe("body limit from the service's memory", () => {
    it("answers 413 naming the service above what its replicas can hold, declared or chunked; smaller bodies pass", async () => {
      await start({}, { maxBodyBytes: 64 * 1024 });
      const declared = await call(`${router.url}${SCORE}`, { key: "k1", body: "x".repeat(70_000) });
      assert.equal(declared.status, 413);
      assert.match(declared.json.error!.message, /exceeds the limit of service 'svc' \(what its replicas' memory holds\) of 65536 bytes/);
      const chunked = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: chunked\r\n\r\n${"8000\r\n" + "x".repeat(0x8000) + "\r\n"}${"8000\r\n" + "x".repeat(0x8000) + "\r\n"}${"10\r\n" + "x".repeat(16) + "\r\n"}0\r\n\r\n`);
      assert.match(chunked, /^HTTP\/1\.1 413 /);
      assert.equal((await call(`${router.url}${SCORE}`, { key: "k1", body: "x".repeat(60_000) })).status, 200);
      assert.equal(upstream.hits.length, 1, "nothing over the limit reached the replica");
    });
  });

  describe("connection flood", () => {
    it("derives the cap from the open-file limit, with room for upstream connections", () => {
      assert.equal(openFileLimit("Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n"), 20_000);
      assert.equal(connectionCap(20_000), 9_872);
      assert.equal(connectionCap(1_048_576), 10_000);
      assert.equal(connectionCap(1_024), 384);
      assert.equal(connectionCap(20_000, 500), 500);
    });

    it("refuses connections past the cap, counts and logs it, and keeps the admin port reachable", async () => {
      const lines: string[] = [];
      const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
      await start({ maxConnections: 40, headersTimeoutMs: 20_000, logger });
      // Connections stuck mid-headers are not idle: they cannot be shed, so the cap itself must hold.
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 60; i++) {
        const s = net.connect(router.port, "127.0.0.1", () => s.write(`POST ${SCORE} HTTP/1.1\r\nHost: x\r\n`));
        s.on("error", () => undefined);
        sockets.push(s);
      }
      await new Promise((r) => setTimeout(r, 800));
      const text = await metricsText(router);
      const refused = Number(/aksinf_router_connections_refused_total (\d+)/.exec(text)?.[1]);
      assert.ok(refused >= 20, `refused ${refused}`);
      assert.match(text, /aksinf_router_connections_open 40/);
      assert.ok(lines.some((l) => /"refused":\d+.*"cap":40.*connection cap reached/.test(l)), `no refusal logged: ${lines.join("")}`);
      for (const s of sockets) s.destroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await call(`${router.url}${SCORE}`, { key: "k1" })).status, 200, "serves again once the flood is gone");
    });

    it("sheds idle keep-alive connections near the cap so new clients get in", async () => {
      await start({ maxConnections: 20 });
      const idle: net.Socket[] = [];
      for (let i = 0; i < 25; i++) {
        const s = net.connect(router.port, "127.0.0.1");
        s.on("error", () => undefined);
        await new Promise<void>((resolve) => {
          s.once("data", () => resolve());
          s.once("close", () => resolve());
          s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        });
        idle.push(s);
      }
      const r = await call(`${router.url}${SCORE}`, { key: "k1" });
      assert.equal(r.status, 200);
      assert.ok(idle.filter((s) => s.destroyed || s.readableEnded).length >= 5, "idle connections were closed to make room");
      for (const s of idle) s.destroy();
    });
  });

  describe("Expect: 100-continue", () => {
    it("sends 100 Continue only after auth and size checks pass", async () => {
      await start();
      const denied = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n`);
      assert.match(denied, /^HTTP\/1\.1 401 /, "no 100 before the refusal");
      const tooBig = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nExpect: 100-continue\r\nContent-Length: 999999999999\r\n\r\n`);
      assert.match(tooBig, /^HTTP\/1\.1 413 /);
      const ok = await new Promise<string>((resolve) => {
        const s = net.connect(router.port, "127.0.0.1", () => s.write(`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n`));
        let data = "";
        s.on("data", (d) => {
          data += d.toString("latin1");
          if (data.startsWith("HTTP/1.1 100") && !data.includes("200")) s.write("{}");
        });
        s.on("close", () => resolve(data));
      });
      assert.match(ok, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    });
  });

  describe("protocol strictness (RFC 9112)", () => {
    /** The first answer's error. */
    const codeOf = (answer: string) => firstErrorAnswer(answer).error;

    it("two Host headers: 400 in JSON, the connection closed, nothing forwarded", async () => {
      await start();
      const answer = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nAuthorization: Bearer k1\r\nContent-Length: 2\r\n\r\n{}`);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(answer, /\r\nconnection: close\r\n/i);
      assert.deepEqual(codeOf(answer), { code: "BadRequest", message: "more than one Host header" });
      assert.equal(upstream.hits.length, 0);
    });

    it("an absolute-form target is routed as its path and query (its authority wins over Host)", async () => {
      await start();
      const answer = await raw(router.port, `POST http://elsewhere.example:8080${SCORE}?sepal=5.1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      assert.match(answer, /^HTTP\/1\.1 200 /);
      assert.deepEqual(upstream.hits, ["/score?sepal=5.1"]);
      const bare = await raw(router.port, "GET HTTPS://elsewhere.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.match(bare, /^HTTP\/1\.1 404 /, "no path is '/', which routes nowhere");
      assert.match(await raw(router.port, "GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 200 /);
      const noHost = await raw(router.port, `POST http:///api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 2\r\n\r\n{}`);
      assert.match(noHost, /^HTTP\/1\.1 400 /, "an http URI without a host is invalid (RFC 9110 §4.2.1)");
      assert.equal(upstream.hits.length, 1);
    });

    it("a transfer coding other than chunked: 501 (or 400 where Node's parser refuses it), in JSON, nothing forwarded", async () => {
      await start();
      const chunk = "2\r\n{}\r\n0\r\n\r\n";
      for (const coding of ["gzip, chunked", "deflate,chunked", "x-custom, chunked"]) {
        const answer = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: ${coding}\r\n\r\n${chunk}`);
        assert.match(answer, /^HTTP\/1\.1 501 /, coding);
        assert.match(answer, /\r\nconnection: close\r\n/i, coding);
        assert.deepEqual(codeOf(answer), { code: "NotImplemented", message: `Transfer-Encoding '${coding}' is not supported: only chunked` });
      }
      // Node's parser refuses these itself, with the headers (400) or with the body, after the
      // router has answered 501; either way the answer is JSON and nothing is forwarded.
      for (const coding of ["identity", "chunked, gzip", "gzip"]) {
        const answer = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: ${coding}\r\n\r\n${chunk}`);
        assert.match(answer, /^HTTP\/1\.1 (400|501) /, coding);
        assert.match(codeOf(answer).code, /^(BadRequest|NotImplemented)$/, coding);
        assert.equal(answer.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, `${coding}: one answer, not a second written after the first`);
      }
      const http10 = await raw(router.port, `POST ${SCORE} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`);
      assert.match(http10, /^HTTP\/1\.1 400 /, "HTTP/1.0 has no transfer codings: its framing is faulty (RFC 9112 §6.1)");
      assert.equal(upstream.hits.length, 0);
      const chunked = await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n${chunk}`);
      assert.match(chunked, /^HTTP\/1\.1 200 /, "chunked, in any case, is served");
    });

    it("malformed requests are counted, probes too", async () => {
      await start();
      await raw(router.port, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
      assert.match(await metricsText(router), /aksinf_router_requests_total\{service="unknown",version="default",status="400"\} 1/);
    });
  });

  describe("headers passed to the model", () => {
    it("strips hop-by-hop headers, those named in Connection, and Proxy-Authorization; replaces X-Forwarded-For", async () => {
      await start();
      // Raw: fetch would not send a Connection header naming another header.
      const answer = await raw(
        router.port,
        `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nConnection: close, x-internal-hop\r\nX-Internal-Hop: secret\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Forwarded-For: 6.6.6.6\r\nX-Model-Hint: kept\r\nContent-Length: 2\r\n\r\n{}`,
      );
      assert.match(answer, /^HTTP\/1\.1 200 /);
      // The echo answers chunked: the JSON is between the first '{' and the last '}'.
      const seen = (JSON.parse(answer.slice(answer.indexOf("{"), answer.lastIndexOf("}") + 1)) as { headers: Record<string, string> }).headers;
      assert.equal(seen["x-internal-hop"], undefined);
      assert.equal(seen["proxy-authorization"], undefined);
      assert.equal(seen["x-model-hint"], "kept");
      assert.equal(seen["x-forwarded-for"], "127.0.0.1", "a client cannot forge where it came from");
    });

    it("appends to X-Forwarded-For when a trusted proxy is in front", async () => {
      await start({ trustForwardedFor: true });
      const r = await call(`${router.url}${SCORE}`, { key: "k1", headers: { "x-forwarded-for": "203.0.113.9" } });
      assert.equal((r.json.headers as Record<string, string>)["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    });
  });

  describe("visibility", () => {
    it("counts every answer by status and service (or unknown) and failed authentications by reason", async () => {
      await start({ maxBodyBytes: 1024 });
      await call(`${router.url}${SCORE}`, { key: "nope" });
      await call(`${router.url}${SCORE}`);
      await call(`${router.url}/api/v1/service/ghost/score`, { key: "k1" });
      await call(`${router.url}/v2/models/svc/infer`, { method: "DELETE", body: undefined, key: "k1" });
      await call(`${router.url}${SCORE}`, { key: "k1", body: "x".repeat(2048) });
      await raw(router.port, `POST ${SCORE} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 150 }, (_, i) => `h${i}: 1\r\n`).join("")}\r\n`);
      const text = await metricsText(router);
      for (const line of [
        'aksinf_router_requests_total{service="svc",version="default",status="401"} 2',
        'aksinf_router_requests_total{service="unknown",version="default",status="404"} 1',
        'aksinf_router_requests_total{service="svc",version="default",status="405"} 1',
        'aksinf_router_requests_total{service="svc",version="default",status="413"} 1',
        'aksinf_router_requests_total{service="unknown",version="default",status="431"} 1',
        'aksinf_router_auth_failures_total{service="svc",reason="key"} 1',
        'aksinf_router_auth_failures_total{service="svc",reason="missing"} 1',
      ]) {
        assert.ok(text.includes(line), `missing ${line}`);
      }
      assert.ok(!text.includes("nope"), "no credential in the metrics");
    });
  });
});
