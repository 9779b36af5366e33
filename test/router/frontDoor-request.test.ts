/**
 * The front door's checks of a request before any service is involved (router/request.ts):
 * which header lines count as Host and Authorization, the header count limit, which HTTP versions
 * need a Host or may carry a transfer coding, the exact refusals (status, code, message, whether
 * the connection closes), over-long request ids, and which prefixes route. Pure calls on a parsed
 * request where the function is exported; sockets on 127.0.0.1 for what only the wire shows.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { MAX_REQUEST_HEADERS } from "../../router/frontDoor";
import { LocalDiscovery } from "../../router/inProcess";
import { malformed, parseRoute, requestIdsOf, type Refusal } from "../../router/request";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

/**
 * A request as Node's parser hands it over: the field lines as sent, `headers` by lower-case name.
 * The first value of a name is kept; the checks read only Transfer-Encoding and the request ids
 * from `headers`, and these tests send each of those once.
 */
function parsed(opts: { version?: [major: number, minor: number]; url?: string; raw?: string[] } = {}): http.IncomingMessage {
  const req = new http.IncomingMessage(new net.Socket());
  [req.httpVersionMajor, req.httpVersionMinor] = opts.version ?? [1, 1];
  req.url = opts.url ?? "/api/v1/service/svc/score";
  req.rawHeaders = opts.raw ?? ["Host", "x"];
  for (let i = 0; i < req.rawHeaders.length; i += 2) req.headers[req.rawHeaders[i].toLowerCase()] ??= req.rawHeaders[i + 1];
  return req;
}

/** `count` distinct header lines (Host first), as name/value pairs. */
function headerLines(count: number): string[] {
  const raw = ["Host", "x"];
  for (let i = 1; i < count; i++) raw.push(`X-Extra-${i}`, "v");
  return raw;
}

const badRequest = (message: string): Refusal => ({ status: 400, code: "BadRequest", message, close: true });

describe("router: the front door's request checks", () => {
  describe("Host and Authorization are counted from the field lines, in any case, and no other header with them", () => {
    it("a Host or Authorization name in any case counts as that header", () => {
      for (const host of ["Host", "host", "HOST", "hOsT"]) {
        assert.equal(malformed(parsed({ raw: [host, "x"] })), undefined, `'${host}' is a Host header`);
        assert.deepEqual(malformed(parsed({ raw: ["Host", "a", host, "b"] })), badRequest("more than one Host header"), `Host and '${host}'`);
      }
      for (const auth of ["Authorization", "authorization", "AUTHORIZATION"]) {
        assert.deepEqual(malformed(parsed({ raw: ["Host", "x", "Authorization", "Bearer a", auth, "Bearer b"] })), badRequest("more than one Authorization header"), auth);
      }
    });

    it("other headers of the same length as Host (4) or Authorization (13) are not counted as them", () => {
      // Date and Cache-Control are everyday headers of exactly those lengths.
      const raw = ["Host", "x", "Date", "Sun, 06 Dec 2026 07:00:00 GMT", "Xost", "1", "Authorization", "Bearer k", "Cache-Control", "no-cache", "Authorisation", "Bearer k"];
      assert.equal(malformed(parsed({ raw })), undefined);
      assert.deepEqual(malformed(parsed({ raw: ["Date", "now", "Cache-Control", "no-cache"] })), badRequest("HTTP/1.1 requests need a Host header"), "a 4-letter header is no Host");
    });
  });

  it(`reads up to ${MAX_REQUEST_HEADERS} header lines; one more is 431 and closes the connection`, () => {
    assert.equal(malformed(parsed({ raw: headerLines(MAX_REQUEST_HEADERS) })), undefined);
    assert.deepEqual(malformed(parsed({ raw: headerLines(MAX_REQUEST_HEADERS + 1) })), {
      status: 431,
      code: "HeadersTooLarge",
      message: `more than ${MAX_REQUEST_HEADERS} request headers`,
      close: true,
    });
  });

  it("needs a Host on HTTP/1.1 only: not on the HTTP/1.0, 0.9 and 2.0 request lines Node's parser also lets through", () => {
    assert.deepEqual(malformed(parsed({ raw: [] })), badRequest("HTTP/1.1 requests need a Host header"));
    for (const version of [[1, 0], [0, 9], [2, 0]] as const) {
      assert.equal(malformed(parsed({ version: [...version], raw: [] })), undefined, version.join("."));
    }
  });

  it("an absolute-form target without a host is 400 and closes the connection", () => {
    assert.deepEqual(malformed(parsed({ url: "http:///api/v1/service/svc/score" })), badRequest("an absolute-form request target needs a host"));
    assert.equal(malformed(parsed({ url: "http://h.example/api/v1/service/svc/score" })), undefined);
  });

  it("a transfer coding on an HTTP/1.0 request is 400 and closes the connection; chunked on any other version passes", () => {
    const raw = ["Host", "x", "Transfer-Encoding", "chunked"];
    assert.deepEqual(malformed(parsed({ version: [1, 0], raw })), badRequest("Transfer-Encoding in an HTTP/1.0 request"));
    for (const version of [[1, 1], [2, 0]] as const) assert.equal(malformed(parsed({ version: [...version], raw })), undefined, version.join("."));
  });

  it("an over-long request id is 431 RequestIdTooLong in Azure ML's words, and the connection stays open", () => {
    const refused = requestIdsOf(parsed({ raw: ["Host", "x", "x-request-id", "r".repeat(101)] }));
    assert.deepEqual(refused, { refusal: { status: 431, code: "RequestIdTooLong", message: "x-request-id must not exceed 100 characters", close: false } });
    const kept = requestIdsOf(parsed({ raw: ["Host", "x", "x-request-id", "r".repeat(100)] }));
    assert.ok("ids" in kept && kept.ids.requestId === "r".repeat(100));
  });

  it("routes v2 only under /v2/models/, not under another prefix of the same length", () => {
    assert.deepEqual(parseRoute("/v2/models/svc/infer"), { service: "svc", kind: "infer" });
    for (const path of ["/v3/models/svc/infer", "/v2/modelz/svc/infer", "/xxxxxxxxxxsvc/ready"]) assert.equal(parseRoute(path), undefined, path);
  });

  describe("on the wire", function () {
    this.timeout(10_000);
    let upstream: Upstream;
    let router: RouterHandle;
    before(async () => {
      // A Content-Length on the replica's answer too, so that answers on one connection split by it.
      upstream = await startUpstream("a", {
        handler: (_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": 2 });
          res.end("{}");
        },
      });
      const discovery = new LocalDiscovery();
      discovery.upsertService(settings("svc"));
      discovery.addReplica("svc", { id: "a", url: upstream.url });
      const keys = new MemoryKeyStore();
      keys.keys.set("svc", { primaryKey: "k1", secondaryKey: "k2" });
      router = await routerWith(discovery, keys);
    });
    after(async () => {
      await router.close();
      await upstream.close();
    });

    /**
     * Writes `requests` one after the other on one connection (each once the previous answer has
     * arrived); resolves with the answers' status lines, headers and JSON bodies, and whether the
     * router closed the connection.
     */
    function exchange(requests: string[]): Promise<{ answers: { status: number; headers: string; body: unknown }[]; closed: boolean }> {
      return new Promise((resolve) => {
        const socket = net.connect(router.port, "127.0.0.1");
        const answers: { status: number; headers: string; body: unknown }[] = [];
        let buffer = "";
        let closed = false;
        const finish = () => {
          clearTimeout(timer);
          socket.destroy();
          resolve({ answers, closed });
        };
        const timer = setTimeout(finish, 3_000);
        // A write racing the router's close may fail; the answers and the close are what is checked.
        socket.on("error", () => undefined);
        socket.on("close", () => {
          closed = true;
          finish();
        });
        socket.on("data", (d: Buffer) => {
          buffer += d.toString("latin1");
          for (;;) {
            const head = buffer.indexOf("\r\n\r\n");
            const length = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(buffer.slice(0, head + 2))?.[1]);
            if (head < 0 || !Number.isInteger(length) || buffer.length < head + 4 + length) return;
            answers.push({ status: Number(buffer.slice(9, 12)), headers: buffer.slice(0, head + 2), body: JSON.parse(buffer.slice(head + 4, head + 4 + length)) });
            buffer = buffer.slice(head + 4 + length);
            if (answers.length < requests.length) socket.write(requests[answers.length]);
            else if (!closed) finish();
          }
        });
        socket.on("connect", () => socket.write(requests[0]));
      });
    }

    const score = (headers: string, version = "1.1") => `POST /api/v1/service/svc/score HTTP/${version}\r\n${headers}Authorization: Bearer k1\r\nContent-Length: 2\r\n\r\n{}`;

    it("serves an upper-case HOST, Date and Cache-Control beside Authorization, and an HTTP/1.0 request without Host", async () => {
      const { answers } = await exchange([score("HOST: x\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\nCache-Control: no-cache\r\n"), score("Connection: keep-alive\r\n", "1.0")]);
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200],
      );
    });

    it(`${MAX_REQUEST_HEADERS} header lines are served; one more is 431 HeadersTooLarge in JSON and the connection is closed`, async () => {
      const lines = (count: number) => headerLines(count - 2).reduce((text, part, i) => text + (i % 2 ? `${part}\r\n` : `${part}: `), "");
      // Authorization and Content-Length are the other two lines.
      const served = await exchange([score(lines(MAX_REQUEST_HEADERS))]);
      assert.equal(served.answers[0]?.status, 200);
      const refused = await exchange([score(lines(MAX_REQUEST_HEADERS + 1)), score("Host: x\r\n")]);
      assert.equal(refused.answers.length, 1, "nothing is answered after the refusal");
      assert.equal(refused.answers[0].status, 431);
      assert.deepEqual(refused.answers[0].body, { error: { code: "HeadersTooLarge", message: `more than ${MAX_REQUEST_HEADERS} request headers` } });
      assert.match(refused.answers[0].headers, /\r\nconnection: close\r\n/i);
      assert.ok(refused.closed);
    });

    it("an over-long request id on a v2 path is 431 RequestIdTooLong in JSON, and the connection serves the next request", async () => {
      const infer = (id: string) => `POST /v2/models/svc/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nx-request-id: ${id}\r\nContent-Length: 2\r\n\r\n{}`;
      const { answers, closed } = await exchange([infer("r".repeat(101)), infer("r".repeat(100))]);
      assert.deepEqual(
        answers.map((a) => a.status),
        [431, 200],
      );
      assert.deepEqual(answers[0].body, { error: { code: "RequestIdTooLong", message: "x-request-id must not exceed 100 characters" } });
      assert.doesNotMatch(answers[0].headers, /\r\nconnection: close\r\n/i);
      assert.equal(closed, false);
    });
  });
});
