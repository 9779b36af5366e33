/**
 * Mirrored copies against real HTTP replicas on 127.0.0.1: what arrives at the mirror, and that
 * a mirror which is slow, failing or dead only changes what is counted.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_MIRRORED_BODY_BYTES } from "../../core/decisions/versions";
import { ServiceBalancer } from "../../router/balancer";
import { sendMirror, type MirrorOutcome } from "../../router/mirror";
import { settings, startUpstream, type Upstream } from "../support/upstream";

const HEADERS = { "content-type": "application/json", "x-ms-request-id": "r-1" };

/** Sends one copy of a POST /score with `body` (undefined: not held whole) and resolves with its outcome. */
function mirrorOnce(balancer: ServiceBalancer, body: Buffer | undefined, timeoutMs = 2_000): Promise<MirrorOutcome> {
  return new Promise((resolve) => sendMirror(balancer, { method: "POST", path: "/score", headers: HEADERS, body }, timeoutMs, resolve));
}

describe("router: mirroring to a version", function () {
  this.timeout(20_000);
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function mirrorVersion(opts: Parameters<typeof startUpstream>[1] = {}): Promise<{ balancer: ServiceBalancer; replica: Upstream; bodies: Buffer[]; headers: http.IncomingHttpHeaders[] }> {
    const bodies: Buffer[] = [];
    const headers: http.IncomingHttpHeaders[] = [];
    const replica = await startUpstream("shadow-1", {
      ...opts,
      handler: (req, res, body) => {
        bodies.push(body);
        headers.push(req.headers);
        if (opts.handler) return opts.handler(req, res, body);
        res.end(JSON.stringify({ ok: true }));
      },
    });
    const balancer = new ServiceBalancer(settings("fraud"), 10);
    balancer.update(settings("fraud"), [{ id: "shadow-1", url: replica.url }]);
    closers.push(() => balancer.close(), () => replica.close());
    return { balancer, replica, bodies, headers };
  }

  it("sends the whole body and the live request's headers, and frees the replica after", async () => {
    const { balancer, replica, bodies, headers } = await mirrorVersion();
    const body = Buffer.alloc(300 * 1024, 7);
    assert.equal(await mirrorOnce(balancer, (body)), "answered");
    assert.deepEqual(replica.hits, ["/score"]);
    assert.ok(bodies[0].equals(body));
    assert.equal(headers[0]["content-type"], "application/json");
    assert.equal(headers[0]["x-ms-request-id"], "r-1");
    assert.equal(balancer.load().inFlight, 0);
  });

  it("does not mirror a body over 1 MiB, nor one the router does not hold whole", async () => {
    const { balancer, replica } = await mirrorVersion();
    assert.equal(await mirrorOnce(balancer, Buffer.alloc(MAX_MIRRORED_BODY_BYTES + 1)), "too_large");
    assert.equal(await mirrorOnce(balancer, undefined), "too_large");
    assert.equal(await mirrorOnce(balancer, (Buffer.alloc(MAX_MIRRORED_BODY_BYTES))), "answered", "exactly 1 MiB is mirrored");
    assert.equal(replica.hits.length, 1);
  });

  it("drops a copy at once when the mirror's replicas are all busy, instead of queueing it", async () => {
    const { balancer } = await mirrorVersion({ delayMs: 1_000 });
    const first = mirrorOnce(balancer, (Buffer.from("{}")));
    const started = Date.now();
    assert.equal(await mirrorOnce(balancer, (Buffer.from("{}"))), "busy");
    assert.ok(Date.now() - started < 50, "a busy mirror answers without waiting");
    assert.equal(balancer.load().queued, 0);
    assert.equal(await first, "answered");
  });

  it("counts a failing mirror (500) and a slow one past its timeout as failed, freeing the slot", async () => {
    const failing = await mirrorVersion({ handler: (_req, res) => res.writeHead(500).end("boom") });
    assert.equal(await mirrorOnce(failing.balancer, (Buffer.from("{}"))), "failed");
    assert.equal(failing.balancer.load().inFlight, 0);
    const slow = await mirrorVersion({ delayMs: 2_000 });
    const started = Date.now();
    assert.equal(await mirrorOnce(slow.balancer, (Buffer.from("{}")), 200), "failed");
    assert.ok(Date.now() - started < 1_500, "the timeout, not the replica, ended it");
    assert.equal(slow.balancer.load().inFlight, 0);
  });

  it("counts a dead mirror replica as failed, and skips it for a second", async () => {
    // A port that was just closed: nothing listens there.
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const balancer = new ServiceBalancer(settings("fraud"), 10);
    balancer.update(settings("fraud"), [{ id: "dead", url: `http://127.0.0.1:${port}` }]);
    closers.push(() => balancer.close());
    assert.equal(await mirrorOnce(balancer, (Buffer.from("{}"))), "failed");
    assert.equal(balancer.load().inFlight, 0);
    // Skipped for a second after it refused (no connection attempt per copy), then tried again.
    let connections = 0;
    const back = http.createServer((_req, res) => res.end("{}"));
    back.on("connection", () => connections++);
    await new Promise<void>((r) => back.listen(port, "127.0.0.1", r));
    closers.push(() => new Promise((r) => back.close(r)));
    assert.equal(await mirrorOnce(balancer, Buffer.from("{}")), "failed");
    assert.equal(connections, 0, "skipped while it was down");
    await new Promise((r) => setTimeout(r, 1_050));
    assert.equal(await mirrorOnce(balancer, Buffer.from("{}")), "answered");
    assert.equal(connections, 1);
  });
});
