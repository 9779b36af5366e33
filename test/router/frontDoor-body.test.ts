/**
 * Reading request bodies at the router's front door (router/body.ts), at its edges: the exact
 * payload limit, the first part's deadline against the rate that counts past it, the bound on
 * bytes waiting for the disk, what a failed spool, a full budget or a vanished client answer, that
 * nothing a body held (memory, disk, timers) outlives it, and the rate guard's window, deadline
 * and pace of checks on a scripted clock. Most tests call readBody with an IncomingMessage fed by
 * hand (fast, exact); two go through a router on 127.0.0.1 for the HTTP answer a client sees.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyBudgetError, DEFAULT_BODY_LIMITS, PayloadTooLargeError, RateGuard, SlowBodyError, bodyStore, readBody, type BodyLimits, type BodyStore, type HeldBody } from "../../router/body";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle, RouterOptions } from "../../router/server";
import { MemoryKeyStore, call, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";
import { tempDir } from "../support/tmp";
import { rawRequest } from "../support/rawSocket";

const MiB = 1024 * 1024;

/** A request as the router's server hands it over, fed by the test with `push`. */
function incoming(): http.IncomingMessage {
  return new http.IncomingMessage(new net.Socket());
}

const limitsWith = (over: Partial<BodyLimits>): BodyLimits => ({ ...DEFAULT_BODY_LIMITS, spoolDir: undefined, ...over });

async function readAll(held: HeldBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of held.read()) parts.push(chunk);
  return Buffer.concat(parts);
}

/** `p`, or a rejection naming how long it stayed pending (a mutant that hangs fails fast). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The error `p` rejects with (fails the test when it resolves instead). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail("the body was accepted");
}

const assertReturned = (store: BodyStore) => {
  assert.equal(store.memory.used, 0, "memory returned to the budget");
  assert.equal(store.disk.used, 0, "disk returned to the budget");
};

/**
 * A body fed `chunks` (then ended, with `end`) and refused: the error, checked to be a `kind` with
 * `message`, after checking that the refusal gave back every byte of memory and disk it held.
 */
async function refusedBody(limits: BodyLimits, chunks: Buffer[], expected: { kind: typeof SlowBodyError | typeof BodyBudgetError; message: string; declared?: number; end?: boolean; withinMs?: number }): Promise<Error> {
  const store = bodyStore(limits);
  const req = incoming();
  const reading = readBody(req, { maxBody: 1e6, declared: expected.declared, limits, store });
  for (const c of chunks) req.push(c);
  if (expected.end) req.push(null);
  const err = await within(expected.withinMs ?? 2_000, rejection(reading));
  assert.ok(err instanceof expected.kind, `${err.name}: ${err.message}`);
  assert.equal(err.message, expected.message);
  assertReturned(store);
  return err;
}

describe("router front door: reading request bodies", function () {
  this.timeout(10_000);

  describe("payload limit", () => {
    it("accepts a body of exactly the limit, and refuses one byte more with the limit named", async () => {
      const limits = limitsWith({});
      const exact = incoming();
      const accepted = readBody(exact, { maxBody: 1_000, limits, store: bodyStore(limits) });
      exact.push(Buffer.alloc(600, 1));
      exact.push(Buffer.alloc(400, 2));
      exact.push(null);
      assert.equal((await within(1_000, accepted)).bytes, 1_000);

      const over = incoming();
      const store = bodyStore(limits);
      const refused = readBody(over, { maxBody: 1_000, limits, store });
      over.push(Buffer.alloc(600, 1));
      over.push(Buffer.alloc(401, 2));
      const err = await within(1_000, rejection(refused));
      assert.ok(err instanceof PayloadTooLargeError);
      assert.equal(err.limit, 1_000);
      assertReturned(store);
    });
  });

  describe("deadlines: the first part by its size, the rest by the rate", () => {
    // First part deadline = rateWindowMs + size at the minimum rate.
    const limits = limitsWith({ bufferBytes: 1_000, minBytesPerSecond: 10_000, rateWindowMs: 200 });

    it("holds a small declared body to the deadline for its own size, not for the whole first part", async () => {
      const small = limitsWith({ bufferBytes: 4_096, minBytesPerSecond: 1_024, rateWindowMs: 200 });
      const req = incoming();
      const started = Date.now();
      // 100 bytes declared: 200 ms + ceil(100 / 1024 * 1000) = 298 ms (the whole first part would be 4.1 s).
      const err = await within(2_000, rejection(readBody(req, { maxBody: 1e6, declared: 100, limits: small, store: bodyStore(small) })));
      assert.ok(err instanceof SlowBodyError);
      assert.equal(err.message, "request body not received within 298 ms");
      assert.ok(Date.now() - started >= 290, `cut after ${Date.now() - started} ms, before its deadline`);
    });

    it("lets the first part arrive at any pace within its deadline: the rate counts only past it", async () => {
      const slow = limitsWith({ bufferBytes: 1_000, minBytesPerSecond: 1_000, rateWindowMs: 200 });
      const req = incoming();
      // Chunked (nothing declared): the first part's deadline is 200 ms + 1 s.
      const held = readBody(req, { maxBody: 1e6, limits: slow, store: bodyStore(slow) });
      req.push(Buffer.from("{"));
      // 1 byte in 500 ms is far below 1000 B/s, over more than a rate window.
      await sleep(500);
      req.push(Buffer.from('"a":1}'));
      req.push(null);
      assert.equal((await within(2_000, held)).bytes, 7);
    });

    it("holds a client that stalls after exactly the first part to the first part's deadline; one byte more starts the rate check", async () => {
      const atFirstPart = incoming();
      const stalled = readBody(atFirstPart, { maxBody: 1e6, declared: 2_000, limits, store: bodyStore(limits) });
      atFirstPart.push(Buffer.alloc(1_000));
      const err = await within(2_000, rejection(stalled));
      assert.ok(err instanceof SlowBodyError);
      assert.equal(err.message, "request body not received within 300 ms");

      await refusedBody(limits, [Buffer.alloc(1_001)], { kind: SlowBodyError, declared: 2_000, message: "request body arrived at 0 B/s, below the minimum of 10000 B/s" });
    });

    it("keeps a complete body (and its memory) until it is released, however long it waits past its deadline", async () => {
      const quick = limitsWith({ bufferBytes: 1_000, minBytesPerSecond: 1e6, rateWindowMs: 50 });
      const store = bodyStore(quick);
      const req = incoming();
      const reading = readBody(req, { maxBody: 1e6, declared: 10, limits: quick, store });
      req.push(Buffer.from("0123456789"));
      req.push(null);
      const held = await within(1_000, reading);
      // Its deadline (51 ms) passes while it waits for a replica slot.
      await sleep(150);
      assert.equal(store.memory.used, 10, "still counted while held");
      assert.equal((await readAll(held)).toString(), "0123456789");
      held.release();
      assertReturned(store);
    });
  });

  describe("timers", () => {
    /** Runs `body` counting intervals started and not cleared; clears what is left. */
    async function intervalsLeftBy(body: () => Promise<void>): Promise<number> {
      const live = new Set<NodeJS.Timeout>();
      const { setInterval: realSet, clearInterval: realClear } = globalThis;
      globalThis.setInterval = ((...args: Parameters<typeof realSet>) => {
        const handle = realSet(...args);
        live.add(handle);
        return handle;
      }) as typeof realSet;
      globalThis.clearInterval = ((handle: Parameters<typeof realClear>[0]) => {
        if (handle !== undefined && typeof handle === "object") live.delete(handle);
        realClear(handle);
      }) as typeof realClear;
      try {
        await body();
      } finally {
        globalThis.setInterval = realSet;
        globalThis.clearInterval = realClear;
        for (const handle of live) realClear(handle);
      }
      return live.size;
    }

    it("leaves no rate check running once a streamed body is complete (none per chunk, none per body)", async () => {
      const limits = limitsWith({ bufferBytes: 100, minBytesPerSecond: 1_000, rateWindowMs: 200 });
      const left = await intervalsLeftBy(async () => {
        const req = incoming();
        const reading = readBody(req, { maxBody: 1e6, limits, store: bodyStore(limits) });
        for (let i = 0; i < 5; i++) {
          req.push(Buffer.alloc(100, i));
          await sleep(5);
        }
        req.push(null);
        assert.equal((await within(1_000, reading)).bytes, 500);
      });
      assert.equal(left, 0, "rate checks still running after the body was read");
    });
  });

  describe("what a failure returns", () => {
    it("answers a spool folder that cannot be written with BodyBudgetError, its cause for the log only, and returns memory and disk", async () => {
      const limits = limitsWith({ bufferBytes: 10, spoolDir: path.join(tempDir("body"), "missing") });
      const err = await refusedBody(limits, [Buffer.alloc(10), Buffer.alloc(100)], { kind: BodyBudgetError, end: true, message: "the router could not spool the request body (a disk error, in the router's log)" });
      assert.ok(err.cause instanceof Error, "the disk's error kept as the cause");
      assert.match(err.cause.message, /^ENOENT: no such file or directory, open '.*missing\/body-[0-9a-f-]+'$/);
    });

    it("answers a full memory budget (no spool folder) with BodyBudgetError, and returns what it held", async () => {
      const limits = limitsWith({ bufferBytes: 1_000, budgetBytes: 50 });
      await refusedBody(limits, [Buffer.alloc(40), Buffer.alloc(40)], { kind: BodyBudgetError, withinMs: 1_000, message: "the router is holding as many request bodies as its memory and disk budgets allow" });
    });

    it("gives up at once, with the connection's error, when the client goes away mid-body", async () => {
      // Default limits: the deadline is 26 s away, so only the error itself can end the read.
      const limits = limitsWith({});
      const store = bodyStore(limits);
      const req = incoming();
      const reading = readBody(req, { maxBody: 1e6, declared: 1_000, limits, store });
      req.push(Buffer.alloc(300));
      await sleep(20);
      assert.equal(store.memory.used, 300);
      req.destroy(new Error("aborted"));
      const err = await within(1_000, rejection(reading));
      assert.equal(err.message, "aborted");
      assertReturned(store);
    });
  });

  describe("bytes waiting for the disk", () => {
    it("pause the client once more than 4 MiB wait to be written, and only then; the body still arrives whole", async () => {
      const limits = limitsWith({ bufferBytes: 10, spoolDir: tempDir("body") });
      const store = bodyStore(limits);
      const req = incoming();
      // Bytes handed to the disk whenever the client is paused.
      const pausedAt: number[] = [];
      req.on("pause", () => pausedAt.push(store.disk.used));
      const reading = readBody(req, { maxBody: 100 * MiB, limits, store });
      req.push(Buffer.alloc(10, 0xff));
      // 80 chunks of 64 KiB (5 MiB) queued at once: faster than any disk.
      const chunks = Array.from({ length: 80 }, (_, i) => Buffer.alloc(64 * 1024, i));
      for (const c of chunks) req.push(c);
      req.push(null);
      const held = await within(5_000, reading);
      assert.ok(pausedAt.length >= 1, "never paused: memory for one body is unbounded while the disk lags");
      assert.equal(pausedAt[0], 4 * MiB + 64 * 1024, "paused at the first chunk past 4 MiB waiting, not before");
      assert.deepEqual(await readAll(held), Buffer.concat([Buffer.alloc(10, 0xff), ...chunks]));
      held.release();
      assertReturned(store);
    });
  });

  describe("rate guard (scripted clock)", () => {
    const S = 1_000_000;
    // A window of 500 ms: checks run every 50 ms of real time, reading the scripted clock.
    const limits = limitsWith({ minBytesPerSecond: 1_000, rateWindowMs: 500 });
    interface Reading {
      at: number;
      bytes: number;
    }

    /** Runs a guard over clock readings (the first at its start, then one per check); resolves with the reading it cut the body at, or undefined. */
    function run(total: number, script: Reading[]): Promise<{ at: number; message: string } | undefined> {
      return new Promise((resolve) => {
        let i = -1;
        let guard: RateGuard | undefined;
        const finish = (r: { at: number; message: string } | undefined) => {
          guard?.stop();
          resolve(r);
        };
        // Past the script the last reading repeats (the check under way ends on it, unreported).
        const reading = () => script[Math.min(i, script.length - 1)];
        const now = () => {
          i = Math.min(i + 1, script.length);
          if (i === script.length) finish(undefined);
          return reading().at;
        };
        guard = new RateGuard(limits, total, () => reading().bytes, (err) => finish({ at: reading().at, message: err.message }), now);
      });
    }

    it("gives the grace window before judging the rate, and judges it as soon as a window is full", async () => {
      const cut = await within(3_000, run(1e9, [{ at: S, bytes: 0 }, { at: S + 100, bytes: 0 }, { at: S + 500, bytes: 0 }, { at: S + 600, bytes: 0 }]));
      assert.deepEqual(cut, { at: S + 500, message: "request body arrived at 0 B/s, below the minimum of 1000 B/s" });
    });

    it("judges a stall by the last window only, not averaged with earlier progress", async () => {
      const cut = await within(3_000, run(1e9, [{ at: S, bytes: 0 }, { at: S + 500, bytes: 1_000 }, { at: S + 1_000, bytes: 1_000 }]));
      assert.deepEqual(cut, { at: S + 1_000, message: "request body arrived at 0 B/s, below the minimum of 1000 B/s" });
    });

    it("accepts a body arriving at exactly the minimum rate", async () => {
      const cut = await within(3_000, run(1e9, [{ at: S, bytes: 0 }, { at: S + 500, bytes: 500 }, { at: S + 1_000, bytes: 1_000 }]));
      assert.equal(cut, undefined);
    });

    it("cuts a body arriving fast enough once its whole deadline has passed, not at the deadline itself", async () => {
      // 1000 bytes: 500 ms grace + 1 s at 1000 B/s.
      const steady = [0, 500, 1_000, 1_500].map((ms) => ({ at: S + ms, bytes: 2 * ms }));
      const cut = await within(3_000, run(1_000, [...steady, { at: S + 1_501, bytes: 3_002 }]));
      assert.deepEqual(cut, { at: S + 1_501, message: "request body not received within 1500 ms" });
    });
  });

  describe("rate guard (real clock)", () => {
    it("checks a tenth of the window apart (at least 50 ms), and stops checking when stopped", async () => {
      let reads = 0;
      const fast = limitsWith({ minBytesPerSecond: 1, rateWindowMs: 100 });
      const guard = new RateGuard(fast, 1e9, () => ++reads * 1e6, () => undefined);
      await sleep(400);
      guard.stop();
      const checks = reads - 1; // the first read is the guard's start
      // 50 ms apart: 8 in 400 ms when the machine is idle, fewer when it is busy, never more.
      assert.ok(checks >= 2 && checks <= 9, `${checks} checks in 400 ms`);
      await sleep(150);
      assert.equal(reads - 1, checks, "checked after stop()");
    });
  });

  describe("the HTTP answer", () => {
    let upstream: Upstream;
    let router: RouterHandle | undefined;
    const start = async (bodyLimits: RouterOptions["bodyLimits"]) => {
      const discovery = new LocalDiscovery();
      discovery.upsertService(settings("svc"));
      discovery.addReplica("svc", { id: "a", url: upstream.url });
      const keys = new MemoryKeyStore();
      keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
      router = await routerWith(discovery, keys, { bodyLimits });
      return router;
    };
    beforeEach(async () => {
      upstream = await startUpstream("a");
    });
    afterEach(async () => {
      await router?.close();
      router = undefined;
      await upstream.close();
    });

    it("a declared body that never comes: 408 RequestTimeout after the deadline for its size, the connection closed", async () => {
      const r = await start({ bufferBytes: 4_096, minBytesPerSecond: 1_024, rateWindowMs: 200 });
      const answer = await rawRequest(r.port, "POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /\r\nconnection: close\r\n/i);
      assert.deepEqual(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { error: { code: "RequestTimeout", message: "request body not received within 298 ms" } });
      assert.deepEqual(upstream.hits, [], "nothing forwarded");
    });

    it("a spool folder that cannot be written: 503 RouterBusy with Retry-After, nothing forwarded", async () => {
      const r = await start({ bufferBytes: 10, spoolDir: path.join(tempDir("body"), "missing") });
      const reply = await call(`${r.url}/api/v1/service/svc/score`, { key: "k1", body: JSON.stringify({ data: "x".repeat(100) }), headers: { "content-type": "application/json" } });
      assert.equal(reply.status, 503);
      assert.equal(reply.headers["retry-after"], "1");
      assert.equal(reply.json.error?.code, "RouterBusy");
      // The spool's path stays in the router's log: the caller learns only that the router is busy.
      assert.equal(reply.json.error?.message, "the router could not spool the request body (a disk error, in the router's log)");
      assert.deepEqual(upstream.hits, []);
    });
  });
});
