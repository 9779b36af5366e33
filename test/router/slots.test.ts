/**
 * No client holds a replica slot or a connection slot it is not using, with raw sockets on
 * 127.0.0.1 (bounded in count and time): connections the router has answered with an error are
 * destroyed whatever the peer does; a slow upload is read whole before a slot is taken; a client
 * that does not read its answer does not keep the replica that produced it.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle, RouterOptions } from "../../router/server";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream, type UpstreamHandler } from "../support/upstream";
import { eventually } from "../support/poll";

const SCORE = "/api/v1/service/svc/score";
const MB = 1024 * 1024;

/** A client connection that never closes by itself; `received()` is what came back so far. */
interface Client {
  socket: net.Socket;
  received(): string;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the client does not close its side when the router closes its own (a socket
    // that ignores FIN, as a flood's would).
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let data = "";
    socket.on("data", (d) => (data += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve({ socket, received: () => data }));
    socket.once("error", reject);
  });
}

async function metric(router: RouterHandle, name: string): Promise<number> {
  const text = await (await fetch(`${router.adminUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** One scoring request on its own connection (closed after the answer, so only the test's other clients stay open). */
async function scoreOn(url: string): Promise<number> {
  const res = await request(`${url}${SCORE}`, { method: "POST", body: "{}", headers: { authorization: "Bearer k1" }, reset: true });
  await res.body.dump();
  return res.statusCode;
}

describe("router: no client holds a slot it is not using", function () {
  this.timeout(30_000);
  let upstream: Upstream;
  let router: RouterHandle;
  const open: Client[] = [];
  const score = () => scoreOn(router.url);
  const start = async (over: Partial<RouterOptions>, handler?: UpstreamHandler) => {
    upstream = await startUpstream("a", { handler });
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", { maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 300 }));
    discovery.addReplica("svc", { id: "a", url: upstream.url });
    const keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
    router = await routerWith(discovery, keys, over);
  };
  afterEach(async () => {
    for (const c of open.splice(0)) c.socket.destroy();
    await router.close();
    await upstream.close();
  });

  describe("connections answered with an error", () => {
    it("are destroyed after the 408 even when the client never closes, so the cap frees up for new clients", async () => {
      await start({ maxConnections: 20, headersTimeoutMs: 400 });
      // Half send nothing, half one byte of a request line; none of them ever closes.
      for (let i = 0; i < 20; i++) {
        const s = await connect(router.port);
        if (i % 2) s.socket.write("P");
        open.push(s);
      }
      assert.equal(await metric(router, "aksinf_router_connections_open"), 20);
      const freed = await eventually(async () => (await metric(router, "aksinf_router_connections_open")) === 0, 4_000, 50);
      assert.ok(freed, `the router still holds ${await metric(router, "aksinf_router_connections_open")} of the idle clients' connections`);
      for (const c of open) assert.match(c.received(), /^HTTP\/1\.1 408 /);
      assert.equal((await call(`${router.url}${SCORE}`, { key: "k1" })).status, 200, "a new client is served while the idle ones still hold their sockets");
    });

    it("are destroyed after a parse error or CONNECT answer too", async () => {
      await start({ maxConnections: 4 });
      for (const bytes of ["GARBAGE\r\n\r\n", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"]) {
        const s = await connect(router.port);
        open.push(s);
        s.socket.write(bytes);
      }
      assert.ok(await eventually(async () => (await metric(router, "aksinf_router_connections_open")) === 0, 3_000, 50), "connections answered 400/405 are closed by the router");
    });
  });

  describe("slow uploads", () => {
    const limits = { bufferBytes: 4096, minBytesPerSecond: 1024, rateWindowMs: 1_000 };

    it("a large body arriving slowly (above the minimum rate) takes no replica slot until it is complete, and arrives whole", async () => {
      await start({ bodyLimits: limits });
      const size = 48 * 1024;
      const s = await connect(router.port);
      open.push(s);
      s.socket.write(`POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: ${size}\r\n\r\n`);
      // 48 KiB at 16 KiB/s: three seconds, well above the 1 KiB/s floor, far past the 4 KiB in memory.
      let sent = 0;
      const sending = (async () => {
        while (sent < size) {
          s.socket.write("x".repeat(1024));
          sent += 1024;
          await sleep(62);
        }
      })();
      await sleep(500);
      const others: number[] = [];
      while (sent < size) others.push((await call(`${router.url}${SCORE}`, { key: "k1" })).status);
      await sending;
      assert.ok(others.length >= 5, `only ${others.length} other requests ran during the upload`);
      assert.deepEqual(others, Array(others.length).fill(200), "the single replica slot stayed free while the body arrived");
      assert.ok(await eventually(() => /"bytes":\d+/.test(s.received()), 3_000, 50), `the slow client is answered (got ${JSON.stringify(s.received().slice(0, 200))})`);
      assert.match(s.received(), /^HTTP\/1\.1 200 /);
      assert.equal(Number(/"bytes":(\d+)/.exec(s.received())![1]), size, "the replica got the whole body");
    });
  });

  describe("clients that do not read their answer", () => {
    const big = 16 * MB;
    const answerBig: UpstreamHandler = (req, res) => {
      if (req.headers["x-big"]) {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(big) });
        res.end(Buffer.alloc(big, 120));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      }
    };
    const request = (extra = "") => `POST ${SCORE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 2\r\n${extra}\r\n{}`;

    it("do not keep the replica: its slot is free once it has answered, and the unread answer is cut after the rate window", async () => {
      await start({ bodyLimits: { minBytesPerSecond: 64 * 1024, rateWindowMs: 1_000 } }, answerBig);
      const reader = await connect(router.port);
      open.push(reader);
      reader.socket.pause(); // never reads: the answer backs up into the router
      reader.socket.write(request("X-Big: 1\r\n"));
      await sleep(300);
      const others: number[] = [];
      for (let i = 0; i < 10; i++) others.push(await score());
      assert.deepEqual(others, Array(10).fill(200), "the replica's one slot is free while the unread answer waits in the router");
      assert.ok(await eventually(async () => (await metric(router, "aksinf_router_connections_open")) === 0, 5_000, 50), "the router closes a client that takes nothing for a rate window");
      assert.ok(await eventually(async () => (await metric(router, "aksinf_router_body_buffer_bytes")) === 0, 2_000, 50), "the unread answer's memory is returned");
    });

    it("hold the replica only while the memory budget is full, and never past the rate window", async () => {
      await start({ bodyLimits: { budgetBytes: 1 * MB, minBytesPerSecond: 64 * 1024, rateWindowMs: 1_000 } }, answerBig);
      const reader = await connect(router.port);
      open.push(reader);
      reader.socket.pause();
      reader.socket.write(request("X-Big: 1\r\n"));
      await sleep(300);
      const t0 = Date.now();
      const after = await eventually(async () => (await score()) === 200, 6_000, 50);
      assert.ok(after, "the slot comes back");
      assert.ok(Date.now() - t0 < 4_000, `the slot came back after ${Date.now() - t0} ms`);
      assert.ok(await eventually(async () => (await metric(router, "aksinf_router_connections_open")) === 0, 3_000, 50), "the router closes the client that took nothing");
    });
  });

  describe("client-address headers", () => {
    const sent = {
      "X-Forwarded-For": "203.0.113.9",
      Forwarded: "for=203.0.113.9;proto=https",
      "X-Real-IP": "203.0.113.9",
      "X-Forwarded-Host": "evil.example",
      "X-Forwarded-Proto": "https",
    };
    const seen = async () => (await call(`${router.url}${SCORE}`, { key: "k1", headers: sent })).json.headers as Record<string, string | undefined>;

    it("are all replaced by what the router saw when no trusted proxy sits in front", async () => {
      await start({});
      const h = await seen();
      assert.equal(h["x-forwarded-for"], "127.0.0.1");
      assert.equal(h["x-forwarded-proto"], "http");
      assert.equal(h["x-forwarded-host"], new URL(router.url).host, "the Host the client used");
      assert.equal(h.forwarded, undefined);
      assert.equal(h["x-real-ip"], undefined);
    });

    it("are kept (the peer appended to the chain) behind a trusted proxy", async () => {
      await start({ trustForwardedFor: true });
      const h = await seen();
      assert.equal(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
      assert.equal(h["x-forwarded-proto"], "https");
      assert.equal(h["x-forwarded-host"], "evil.example");
      assert.equal(h.forwarded, "for=203.0.113.9;proto=https");
      assert.equal(h["x-real-ip"], "203.0.113.9");
    });
  });
});
