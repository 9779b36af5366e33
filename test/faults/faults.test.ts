/**
 * Faults under load, loopback only and bounded: a replica killed, a router restarted, a replica
 * scaled away. Requests that never reached a replica must never fail; only requests a killed
 * replica was already working on may.
 */
import * as assert from "node:assert/strict";
import { Agent, request } from "undici";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

interface Outcome {
  status: number;
  body: string;
}

/**
 * `clients` concurrent loops for `ms`, each answer recorded; connection errors as status 0.
 * With `retryUnanswered`, a client retries a connection that was refused or closed before any
 * answer: what clients of a restarting router do (a draining router forwards nothing it will
 * not answer, so such a request never reached a replica). Retries are counted apart: a refused
 * connection (the port is closed while the router restarts; a client waits 20 ms before trying
 * again, so their count measures the gap, not the CPU's speed) and a connection closed before
 * its answer (what a draining router must keep rare).
 */
async function load(url: () => string, clients: number, ms: number, retryUnanswered = false, retries = { refused: 0, closed: 0 }): Promise<Outcome[]> {
  const out: Outcome[] = [];
  // Its own connection pool: keep-alive sockets of earlier tests must not leak into this one.
  const dispatcher = new Agent();
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        try {
          const res = await request(url(), { method: "POST", body: '{"x":1}', headers: { "content-type": "application/json" }, dispatcher });
          out.push({ status: res.statusCode, body: await res.body.text() });
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (retryUnanswered && code === "ECONNREFUSED") {
            retries.refused++;
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          if (retryUnanswered && (code === "ECONNRESET" || code === "UND_ERR_SOCKET")) {
            retries.closed++;
            continue;
          }
          out.push({ status: 0, body: String(code ?? err) });
        }
      }
    }),
  );
  await dispatcher.close();
  return out;
}

describe("faults under load", function () {
  this.timeout(30_000);
  let discovery: LocalDiscovery;
  const upstreams: Upstream[] = [];
  const routers: RouterHandle[] = [];

  beforeEach(async () => {
    discovery = new LocalDiscovery();
    discovery.upsertService(settings("svc", { authMode: "none", maxConcurrentRequestsPerReplica: 2, maxQueueWaitMs: 2_000 }));
    for (const id of ["r1", "r2", "r3"]) {
      const u = await startUpstream(id, { delayMs: 10 });
      upstreams.push(u);
      discovery.addReplica("svc", { id, url: u.url });
    }
    routers.push(await routerWith(discovery, new MemoryKeyStore(), { drainGraceMs: 500 }));
  });
  afterEach(async () => {
    await Promise.all(routers.splice(0).map((r) => r.close()));
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
  });

  it("a replica killed mid-load fails at most the requests it was already handling", async () => {
    const router = routers[0];
    const running = load(() => `${router.url}/api/v1/service/svc/score`, 6, 1_500);
    await new Promise((r) => setTimeout(r, 400));
    const victim = upstreams[0];
    const inFlightAtKill = victim.active();
    victim.server.closeAllConnections(); // the process dies: sockets reset, port closed
    victim.server.close();
    // Discovery notices a moment later (the kubelet's readiness probe / endpoint removal).
    setTimeout(() => discovery.removeReplica("svc", "r1"), 200);
    const outcomes = await running;
    const failed = outcomes.filter((o) => o.status !== 200);
    assert.ok(outcomes.length > 100, `only ${outcomes.length} requests`);
    assert.ok(failed.every((o) => o.status === 502 && /may have reached the model/.test(o.body)), `failures other than delivered requests: ${JSON.stringify(failed.slice(0, 3))}`);
    assert.ok(failed.length <= Math.max(inFlightAtKill, 2), `${failed.length} failed, ${inFlightAtKill} were in flight at the kill`);
  });

  it("a replica scaled down mid-load loses no request", async () => {
    const router = routers[0];
    const running = load(() => `${router.url}/api/v1/service/svc/score`, 6, 1_200);
    await new Promise((r) => setTimeout(r, 300));
    // The supervisor's order: out of discovery first, then stop once in-flight work is done.
    discovery.removeReplica("svc", "r2");
    await new Promise((r) => setTimeout(r, 100));
    await upstreams[1].close();
    const outcomes = await running;
    assert.deepEqual([...new Set(outcomes.map((o) => o.status))], [200]);
  });

  it("a router restarted mid-load loses no request when clients retry unanswered connections", async () => {
    const a = routers[0];
    const b = await routerWith(discovery, new MemoryKeyStore(), { drainGraceMs: 500 });
    routers.push(b);
    let next = 0;
    const urls = [a.url, b.url];
    const retries = { refused: 0, closed: 0 };
    const running = load(() => `${urls[next++ % 2]}/api/v1/service/svc/score`, 6, 2_000, true, retries);
    await new Promise((r) => setTimeout(r, 400));
    const port = a.port;
    await a.close(); // SIGTERM: readiness off, in-flight requests finish, then exit
    routers.splice(routers.indexOf(a), 1);
    const restarted = await routerWith(discovery, new MemoryKeyStore(), { port, drainGraceMs: 500 });
    routers.push(restarted);
    assert.equal(restarted.port, port);
    const outcomes = await running;
    assert.ok(outcomes.length > 100);
    assert.deepEqual([...new Set(outcomes.map((o) => o.status))], [200], JSON.stringify(outcomes.filter((o) => o.status !== 200).slice(0, 3)));
    // At most one request per kept-alive connection can race the drain's close: 6 clients, so a
    // dozen connections at most over both routers. The refused ones last only while the port is
    // closed: under a second of 20 ms waits per client.
    assert.ok(retries.closed <= 12, `${retries.closed} requests met a closing connection (of ${outcomes.length})`);
    assert.ok(retries.refused <= 6 * 50, `${retries.refused} refused connections: the restart left the port closed too long`);
  });

  it("the admin port reports load for the coordinator while serving", async () => {
    const router = routers[0];
    const running = load(() => `${router.url}/api/v1/service/svc/score`, 4, 1_000);
    let busiest = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const l = (await (await fetch(`${router.adminUrl}/internal/load`)).json()) as Record<string, { inFlight: number; queued: number }>;
      busiest = Math.max(busiest, l.svc.inFlight + l.svc.queued);
    }
    await running;
    assert.ok(busiest > 0, "the coordinator never saw load");
  });
});
