/**
 * The public listener's guards (router/frontDoor.ts) on a bare http.Server on 127.0.0.1, with the
 * router's own metrics, error sender and a captured log: what a client sees when Node's HTTP layer
 * refuses a request (status, JSON body, headers, the connection closed at once), the keep-alive
 * timeout a client is told as the connection cap nears, idle connections shed near the cap and
 * refusals at the cap (each logged at most once a second; the clock is frozen so that boundary is
 * exact), and the open-file limit the cap derives from. Bounded: at most a dozen sockets a test.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { KEEP_ALIVE_MS } from "../../core/contracts/naming";
import { FRONT_DOOR_SERVER_OPTIONS, KEEP_ALIVE_UNDER_PRESSURE_MS, MAX_CONNECTIONS_CEILING, MAX_REQUEST_HEADERS, RAW_ANSWER_GRACE_MS, connectionCap, guardFrontDoor, openFileLimit } from "../../router/frontDoor";
import { LocalDiscovery } from "../../router/inProcess";
import { RouterMetrics } from "../../router/metrics";
import { sendError } from "../../router/respond";
import { MemoryKeyStore, routerWith, settings, startUpstream } from "../support/upstream";
import { firstErrorAnswer, rawRequest, type ErrorAnswer } from "../support/rawSocket";
import { eventually } from "../support/poll";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHED_MSG = "near the connection cap: closed idle keep-alive connections";
const REFUSAL_MSG = "connection cap reached: refusing new connections";

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** A server with only the front door's guards in front of a handler that answers 200 "ok". */
interface Door {
  server: http.Server;
  port: number;
  metrics: RouterMetrics;
  logs: LogLine[];
  /** Open connections as the router reports them (aksinf_router_connections_open). */
  openGauge(): Promise<number>;
  close(): Promise<void>;
}

async function door(maxConnections: number, headersTimeoutMs = 30_000): Promise<Door> {
  const metrics = new RouterMetrics();
  const logs: LogLine[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  };
  // A short checking interval, as the router's own server has, so a headers timeout fires promptly.
  const server = http.createServer({ ...FRONT_DOOR_SERVER_OPTIONS, connectionsCheckingInterval: 50 }, onRequest);
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = headersTimeoutMs + 1_000;
  guardFrontDoor(server, { maxConnections, metrics, log, sendError, onRequest });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    metrics,
    logs,
    openGauge: async () => (await metrics.connectionsOpen.get()).values[0]?.value ?? Number.NaN,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One client connection; `get()` sends a request on it and resolves with the head of the answer. */
class Conn {
  private data = "";
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => (this.data += d.toString("latin1")));
    socket.on("error", () => undefined);
  }

  static async open(port: number): Promise<Conn> {
    const socket = net.connect(port, "127.0.0.1");
    const conn = new Conn(socket);
    await once(socket, "connect");
    return conn;
  }

  /** Whether the router has closed this connection (its FIN arrived). */
  closedByServer(): boolean {
    return this.socket.readableEnded || this.socket.destroyed;
  }

  async get(): Promise<string> {
    const from = this.data.length;
    this.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(await eventually(() => this.data.indexOf("\r\n\r\nok", from) >= 0, 2_000, 10), `no answer: ${JSON.stringify(this.data.slice(from))}`);
    return this.data.slice(from, this.data.indexOf("\r\n\r\nok", from));
  }

  /** The idle timeout the last answer announced, in seconds (`Keep-Alive: timeout=N`). */
  async keepAliveSeconds(): Promise<number> {
    const head = await this.get();
    return Number(/\r\nKeep-Alive: timeout=(\d+)/i.exec(head)?.[1]);
  }
}

const raw = (port: number, bytes: string, waitMs = 2_000) => rawRequest(port, bytes, waitMs);

async function requestsCounted(d: Door): Promise<string> {
  return d.metrics.registry.getSingleMetricAsString("aksinf_router_requests_total");
}

/** Freezes Date.now (what the guards' once-a-second limits read) at `at`; `set` moves it. */
function freezeClock(at: number): { set(ms: number): void; restore(): void } {
  const real = Date.now;
  let now = at;
  Date.now = () => now;
  return {
    set: (ms) => (now = ms),
    restore: () => (Date.now = real),
  };
}

describe("router: front door guards (frontDoor.ts)", function () {
  this.timeout(10_000);
  let d: Door | undefined;
  let clock: ReturnType<typeof freezeClock> | undefined;
  const conns: Conn[] = [];
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    for (const c of conns.splice(0)) c.socket.destroy();
    await d?.close();
    d = undefined;
  });

  describe("the open-file limit behind the connection cap", () => {
    const limits = (row: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \n${row}\n`;

    it("reads the soft limit from the text given, not from this process", () => {
      // A value this process does not have: the text given must win over /proc/self/limits.
      assert.equal(openFileLimit(limits("Max open files            4321                 8642                 files     ")), 4_321);
      assert.equal(openFileLimit(""), undefined, "no row, no limit (not this process's own)");
    });

    it("reads this process's own soft limit when given none (Linux)", function () {
      if (process.platform !== "linux") this.skip();
      const soft = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
      assert.equal(openFileLimit(), soft === "unlimited" ? undefined : Number(soft));
    });

    it("takes only the row named Max open files, not the phrase inside another row", () => {
      assert.equal(openFileLimit(`Note: Max open files 7 applies elsewhere\n${limits("Max open files            4321                 8642                 files     ")}`), 4_321);
    });

    it("an unlimited soft limit is no limit: the cap falls back to its ceiling, not NaN", () => {
      const unlimited = openFileLimit(limits("Max open files            unlimited            unlimited            files     "));
      assert.equal(unlimited, undefined);
      assert.equal(connectionCap(unlimited), MAX_CONNECTIONS_CEILING);
    });
  });

  describe("what Node's HTTP layer refuses gets a JSON answer, is counted, and the connection closes", () => {
    const expectRaw = (a: ErrorAnswer, status: number, code: string, message: string) => {
      assert.equal(a.status, status);
      assert.deepEqual(a.error, { code, message });
      assert.equal(a.headers["content-type"], "application/json");
      assert.equal(a.headers.connection, "close");
      assert.match(a.headers["x-ms-request-id"], UUID);
    };

    /** The request counted once, for no service, with the answer's status. */
    const counted = (status: number) => new RegExp(`aksinf_router_requests_total\\{service="unknown",version="default",status="${status}"\\} 1$`, "m");

    const refusals = [
      { what: "a parse error: 400 BadRequest naming the parser's code", bytes: "GARBAGE\r\n\r\n", status: 400, code: "BadRequest", message: "malformed or incomplete request (HPE_INVALID_METHOD)" },
      { what: "headers over Node's size limit: 431 HeadersTooLarge", bytes: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`, status: 431, code: "HeadersTooLarge", message: "malformed or incomplete request (HPE_HEADER_OVERFLOW)" },
      { what: "CONNECT: 405 MethodNotAllowed (not a forward proxy)", bytes: "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", status: 405, code: "MethodNotAllowed", message: "CONNECT is not supported: this is not a forward proxy" },
    ];
    for (const r of refusals) {
      it(r.what, async () => {
        d = await door(100);
        expectRaw(firstErrorAnswer(await raw(d.port, r.bytes)), r.status, r.code, r.message);
        assert.match(await requestsCounted(d), counted(r.status));
      });
    }

    it("headers not complete within the headers timeout: 408 RequestTimeout", async () => {
      d = await door(100, 300);
      const started = Date.now();
      const answer = firstErrorAnswer(await raw(d.port, "GET / HTTP/1.1\r\nHost: x\r\n", 3_000));
      expectRaw(answer, 408, "RequestTimeout", "malformed or incomplete request (ERR_HTTP_REQUEST_TIMEOUT)");
      assert.ok(Date.now() - started < 2_000, `answered after ${Date.now() - started} ms`);
      assert.match(await requestsCounted(d), counted(408));
    });

    it("a client error without a code (Node's parser always gives one; a socket error may not): 400 saying 'parse error'", async () => {
      d = await door(100);
      const server = d.server;
      // The listener is driven directly on a real connection: no request bytes produce such an error.
      server.once("connection", (socket: net.Socket) => setImmediate(() => server.emit("clientError", new Error("socket trouble"), socket)));
      expectRaw(firstErrorAnswer(await raw(d.port, "")), 400, "BadRequest", "malformed or incomplete request (parse error)");
    });

    it("an Expect other than 100-continue: 417 ExpectationFailed in JSON with a request id", async () => {
      d = await door(100);
      const a = firstErrorAnswer(await raw(d.port, "POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
      assert.equal(a.status, 417);
      assert.deepEqual(a.error, { code: "ExpectationFailed", message: "only 'Expect: 100-continue' is supported" });
      assert.equal(a.headers["content-type"], "application/json");
      assert.match(a.headers["x-ms-request-id"], UUID);
      assert.match(await requestsCounted(d), counted(417));
    });

    it("the connection is destroyed as soon as the answer has left, even when the client keeps its side open", async () => {
      d = await door(100);
      for (const bytes of ["GARBAGE\r\n\r\n", "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"]) {
        // allowHalfOpen: the client never closes its side, so only the router can free the connection.
        const socket = net.connect({ port: d.port, host: "127.0.0.1", allowHalfOpen: true }, () => socket.write(bytes));
        socket.on("error", () => undefined);
        socket.resume();
        await once(socket, "end");
        const answered = Date.now();
        const front = d;
        // Well before RAW_ANSWER_GRACE_MS: the grace is for answers that cannot leave, not for these.
        assert.ok(await eventually(async () => (await front.openGauge()) === 0, RAW_ANSWER_GRACE_MS / 2, 10), `${JSON.stringify(bytes)}: still open ${Date.now() - answered} ms after the answer`);
        socket.destroy();
      }
    });

    it("a connection whose answer cannot leave (the peer reads nothing) is destroyed after the grace", async () => {
      d = await door(100);
      const written: string[] = [];
      // A peer that never reads: the write is never acknowledged, so the answer never finishes.
      const socket = new Duplex({ read() {}, write: (chunk: Buffer) => void written.push(chunk.toString("latin1")) });
      const started = Date.now();
      // The listener reads no request: the CONNECT answer depends on the socket alone.
      d.server.emit("connect", undefined, socket, Buffer.alloc(0));
      await once(socket, "close");
      const ms = Date.now() - started;
      assert.match(written.join(""), /^HTTP\/1\.1 405 /);
      assert.ok(ms >= RAW_ANSWER_GRACE_MS - 50 && ms < RAW_ANSWER_GRACE_MS + 500, `destroyed after ${ms} ms`);
    });
  });

  it("a request with exactly the allowed number of headers keeps every one (its Authorization last), one more gets 431", async () => {
    const upstream = await startUpstream("a");
    const discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc"));
    discovery.addReplica("svc", { id: "a", url: upstream.url });
    const keys = new MemoryKeyStore();
    keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
    const router = await routerWith(discovery, keys);
    try {
      const request = (fillers: number) => {
        const extra = Array.from({ length: fillers }, (_, i) => `X-Filler-${i}: 1\r\n`).join("");
        // Host, Content-Length, Connection, the fillers, then Authorization as the last field line.
        return raw(router.port, `POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n${extra}Authorization: Bearer k1\r\n\r\n{}`);
      };
      const atLimit = await request(MAX_REQUEST_HEADERS - 4);
      assert.match(atLimit, /^HTTP\/1\.1 200 /, `${MAX_REQUEST_HEADERS} headers: ${atLimit.slice(0, 300)}`);
      const over = firstErrorAnswer(await request(MAX_REQUEST_HEADERS - 3));
      assert.equal(over.status, 431);
      assert.deepEqual(over.error, { code: "HeadersTooLarge", message: `more than ${MAX_REQUEST_HEADERS} request headers` });
      assert.deepEqual(upstream.hits, ["/score"], "only the request within the limit reached the replica");
    } finally {
      await router.close();
      await upstream.close();
    }
  });

  describe("near the connection cap", () => {
    /** Opens a connection, closed after the test. */
    const openConn = async (port: number): Promise<Conn> => {
      const c = await Conn.open(port);
      conns.push(c);
      return c;
    };
    const openConns = async (port: number, n: number): Promise<Conn[]> => {
      const opened: Conn[] = [];
      for (let i = 0; i < n; i++) opened.push(await openConn(port));
      return opened;
    };

    it("announces the short keep-alive timeout from half the cap, and the long one again below half", async () => {
      d = await door(8);
      const front = d;
      const announced: number[] = [];
      // Each connection asks once it is open: its answer carries the timeout for the connections open then.
      for (let i = 0; i < 5; i++) announced.push(await (await openConn(front.port)).keepAliveSeconds());
      const long = KEEP_ALIVE_MS / 1000;
      const short = KEEP_ALIVE_UNDER_PRESSURE_MS / 1000;
      assert.deepEqual(announced, [long, long, long, short, short], "4 of 8 open is half the cap");
      const [c1, c2, , c4, c5] = conns;
      c5.socket.destroy();
      assert.ok(await eventually(async () => (await front.openGauge()) === 4, 1_000, 10));
      assert.equal(await c1.keepAliveSeconds(), short, "4 of 8 open again: still under pressure");
      c4.socket.destroy();
      assert.ok(await eventually(async () => (await front.openGauge()) === 3, 1_000, 10));
      assert.equal(await c1.keepAliveSeconds(), long, "3 of 8 open: back to the long timeout");
      assert.equal(await c2.keepAliveSeconds(), long);
      assert.deepEqual(d.logs, [], "nothing shed or logged below 90 % of the cap");
    });

    it("at 90 % of the cap closes the idle keep-alive connections (not the new one), logs it, and does so at most once a second", async () => {
      clock = freezeClock(1_000_000);
      d = await door(10);
      const front = d;
      const shedLogs = () => front.logs.filter((l) => l.msg === SHED_MSG).map(({ open, cap }) => ({ open, cap }));
      const idle = await openConns(d.port, 8);
      for (const c of idle) await c.get();
      assert.deepEqual(shedLogs(), [], "8 of 10: not yet");
      const ninth = (await openConn(d.port));
      await ninth.get();
      assert.deepEqual(shedLogs(), [{ open: 9, cap: 10 }]);
      assert.ok(await eventually(() => idle.every((c) => c.closedByServer()), 1_000, 10), "the idle connections are closed");
      assert.ok(!ninth.closedByServer(), "the connection that came in is served and kept");
      assert.ok(await eventually(async () => (await front.openGauge()) === 1, 1_000, 10));

      // Within the same second, reaching 90 % again sheds nothing.
      const again = await openConns(d.port, 8);
      for (const c of again) await c.get();
      clock.set(1_000_000 + 1_000);
      const later = (await openConn(d.port));
      await later.get();
      // Exactly one second later is not "more than a second".
      assert.deepEqual(shedLogs(), [{ open: 9, cap: 10 }]);
      assert.ok([ninth, ...again, later].every((c) => !c.closedByServer()), "nothing was shed within the second");

      // More than a second after the last shedding, it sheds again.
      later.socket.destroy();
      assert.ok(await eventually(async () => (await front.openGauge()) === 9, 1_000, 10));
      clock.set(1_000_000 + 1_001);
      await (await openConn(d.port)).get();
      assert.deepEqual(shedLogs(), [{ open: 9, cap: 10 }, { open: 10, cap: 10 }]);
      assert.ok(await eventually(() => [ninth, ...again].every((c) => c.closedByServer()), 1_000, 10));
    });

    it("counts connections refused at the cap and logs them at most once a second, with how many since the last line", async () => {
      clock = freezeClock(1_000_000);
      d = await door(4);
      const front = d;
      // Connections mid-headers are not idle: nothing sheds them, the cap itself holds.
      for (let i = 0; i < 4; i++) {
        (await openConn(d.port)).socket.write("GET / HTTP/1.1\r\n");
        await sleep(20);
      }
      assert.ok(await eventually(async () => (await front.openGauge()) === 4, 1_000, 10));
      const refuse = async () => {
        const dropped = once(front.server, "drop");
        const s = net.connect(front.port, "127.0.0.1");
        s.on("error", () => undefined);
        await dropped;
        s.destroy();
      };
      await refuse();
      await refuse();
      await refuse();
      clock.set(1_000_000 + 999);
      await refuse();
      clock.set(1_000_000 + 1_000);
      await refuse();
      const refusals = d.logs.filter((l) => l.msg === REFUSAL_MSG).map(({ refused, cap }) => ({ refused, cap }));
      assert.deepEqual(refusals, [
        { refused: 1, cap: 4 },
        { refused: 4, cap: 4 },
      ]);
      assert.equal((await d.metrics.connectionsRefused.get()).values[0]?.value, 5);
    });
  });
});
