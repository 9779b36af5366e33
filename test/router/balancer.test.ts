/**
 * The per-service balancer on its own (no HTTP): least outstanding requests with rotation among
 * equals, the per-replica limit, the bounded FIFO queue and its timeout, retries that skip a
 * replica, and replicas leaving discovery. Pools are created but never connect.
 */
import * as assert from "node:assert/strict";
import { BalancerError, ServiceBalancer, type ReplicaSlot } from "../../router/balancer";
import type { Replica } from "../../router/types";
import { settings } from "../support/upstream";

/** Replicas on distinct (unused) ports: a pool only connects when a request is sent. */
const replicas = (...ids: string[]): Replica[] => ids.map((id) => ({ id, url: `http://127.0.0.1:${40_000 + id.charCodeAt(0)}` }));

/** Settles the promise now-or-never: "pending" when it has not settled after the microtasks run. */
async function state<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

async function rejection(p: Promise<unknown>): Promise<BalancerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BalancerError, `expected a BalancerError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the promise to reject");
}

describe("router: service balancer", () => {
  const open: ServiceBalancer[] = [];
  function balancer(over: Parameters<typeof settings>[1] = {}, maxQueue = 10, ids: string[] = ["a", "b"]): ServiceBalancer {
    const b = new ServiceBalancer(settings("fraud", over), maxQueue);
    b.update(settings("fraud", over), replicas(...ids));
    open.push(b);
    return b;
  }
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
  });

  it("sends each request to the replica with the fewest in flight, rotating among equals", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 3 }, 10, ["a", "b", "c"]);
    const first = await b.acquire();
    const second = await b.acquire();
    const third = await b.acquire();
    assert.deepEqual([first, second, third].map((s) => s.replica.id).sort(), ["a", "b", "c"], "three requests spread over three idle replicas");
    b.release(second);
    const fourth = await b.acquire();
    assert.equal(fourth.replica.id, second.replica.id, "the only replica with nothing in flight");
    assert.deepEqual(b.load(), { inFlight: 3, queued: 0 });
    assert.equal(b.readyReplicas(), 3);
  });

  it("rotates the starting replica so equal replicas share the load", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 5 });
    const picked: string[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await b.acquire();
      picked.push(s.replica.id);
      b.release(s);
    }
    assert.deepEqual(picked, ["a", "b", "a", "b"]);
  });

  it("gives a replica at most maxConcurrentRequestsPerReplica requests; the rest queue in order and get the freed slot", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 2 }, 10, ["a"]);
    const s1 = await b.acquire();
    const s2 = await b.acquire();
    assert.equal(s1.inFlight, 2);
    const w1 = b.acquire();
    const w2 = b.acquire();
    assert.equal(await state(w1), "pending");
    assert.deepEqual(b.load(), { inFlight: 2, queued: 2 });
    assert.equal(b.tryAcquire(), undefined, "tryAcquire never queues");
    b.release(s1);
    assert.equal(await state(w1), s1, "the first waiter gets the freed slot");
    assert.equal(await state(w2), "pending", "the second still waits");
    b.release(s2);
    assert.equal(await state(w2), s1);
    assert.deepEqual(b.load(), { inFlight: 2, queued: 0 });
  });

  it("refuses with 503 QueueFull once maxQueueLength requests wait", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 60_000 }, 2, ["a"]);
    await b.acquire();
    const waiting = [b.acquire(), b.acquire()];
    const err = await rejection(b.acquire());
    assert.equal(err.status, 503);
    assert.equal(err.code, "QueueFull");
    assert.equal(err.message, "service 'fraud' is at capacity (2 requests queued)");
    await b.close();
    for (const w of waiting) assert.equal((await rejection(w)).message, "service 'fraud' was removed");
  });

  it("with a queue length of 0, refuses at once instead of queueing", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1 }, 0, ["a"]);
    await b.acquire();
    assert.equal((await rejection(b.acquire())).code, "QueueFull");
  });

  it("times a queued request out after maxQueueWaitMs with QueueTimeout, and drops it from the queue", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 30 }, 10, ["a"]);
    const held = await b.acquire();
    const started = Date.now();
    const err = await rejection(b.acquire());
    assert.ok(Date.now() - started >= 25, "waited about maxQueueWaitMs");
    assert.equal(err.status, 503);
    assert.equal(err.code, "QueueTimeout");
    assert.equal(err.message, "service 'fraud' is busy: waited 30 ms for a free replica");
    assert.deepEqual(b.load(), { inFlight: 1, queued: 0 });
    b.release(held);
    assert.equal((await b.acquire()).replica.id, "a", "the timed-out request does not hold the freed slot");
  });

  it("times out with NoReadyReplica when the service has no replica at all", async () => {
    const b = balancer({ maxQueueWaitMs: 20 }, 10, []);
    assert.equal(b.readyReplicas(), 0);
    const err = await rejection(b.acquire());
    assert.equal(err.code, "NoReadyReplica");
    assert.equal(err.message, "service 'fraud' has no ready replica");
  });

  it("serves a queued request as soon as a replica becomes ready", async () => {
    const b = balancer({ maxQueueWaitMs: 60_000 }, 10, []);
    const waiting = b.acquire();
    assert.equal(await state(waiting), "pending");
    b.update(settings("fraud", { maxQueueWaitMs: 60_000 }), replicas("late"));
    const slot = await state(waiting);
    assert.notEqual(slot, "pending");
    assert.equal((slot as ReplicaSlot).replica.id, "late");
  });

  it("skips the replicas a retried request already failed on, even when they are idle", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 5 });
    const busy = await b.acquire(new Set(["a"]));
    assert.equal(busy.replica.id, "b");
    const again = await b.acquire(new Set(["a"]));
    assert.equal(again.replica.id, "b", "a has nothing in flight but is excluded");
    assert.equal(b.tryAcquire()?.replica.id, "a");
  });

  it("tryAcquire takes a free replica at once with the same exclusions and rotation as acquire, or none", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1 }, 10, ["a", "b", "c"]);
    assert.equal(b.tryAcquire(new Set(["a"]))?.replica.id, "b", "a is idle but excluded");
    assert.equal(b.tryAcquire(new Set(["c"]))?.replica.id, "a");
    assert.equal(b.tryAcquire(new Set(["c"])), undefined, "the only free replica is excluded: no slot, nothing queued");
    assert.deepEqual(b.load(), { inFlight: 2, queued: 0 });
    assert.equal((await b.acquire()).replica.id, "c");
  });

  it("a queued retry waits for a replica it has not tried, not for any replica", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 60_000 });
    const a = await b.acquire();
    const bSlot = await b.acquire();
    assert.equal(a.replica.id, "a");
    const retry = b.acquire(new Set(["a"]));
    b.release(a);
    assert.equal(await state(retry), "pending", "a is free but excluded");
    b.release(bSlot);
    assert.equal(((await state(retry)) as ReplicaSlot).replica.id, "b");
  });

  it("does not start a new request ahead of queued ones", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 60_000 });
    const a = await b.acquire();
    await b.acquire();
    const retry = b.acquire(new Set(["a"]));
    b.release(a);
    // a is free, but a request is queued: a newcomer joins the queue behind it.
    const newcomer = b.acquire();
    assert.equal(await state(newcomer), "pending");
    assert.equal(b.tryAcquire(), undefined);
    assert.deepEqual(b.load(), { inFlight: 1, queued: 2 });
    void retry;
    await b.close();
    await assert.rejects(retry, BalancerError);
    await assert.rejects(newcomer, BalancerError);
  });

  it("stops sending to a replica that left discovery or changed address; it is closed once idle", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 5 });
    const onA = await b.acquire();
    assert.equal(onA.replica.id, "a");
    b.update(settings("fraud", { maxConcurrentRequestsPerReplica: 5 }), replicas("b"));
    assert.equal(onA.removed, true);
    assert.equal(b.readyReplicas(), 1);
    assert.equal((await b.acquire()).replica.id, "b");
    assert.equal((await b.acquire()).replica.id, "b");
    assert.equal(onA.pool.closed, false, "a request is still in flight on the removed replica");
    b.release(onA);
    assert.equal(onA.pool.closed, true);

    const onB = b.tryAcquire()!;
    b.update(settings("fraud", { maxConcurrentRequestsPerReplica: 5 }), [{ id: "b", url: "http://127.0.0.2:40098" }]);
    assert.equal(onB.removed, true, "same id, new address: a new replica");
    const moved = await b.acquire();
    assert.equal(moved.replica.url, "http://127.0.0.2:40098");
    assert.notEqual(moved, onB);
  });

  it("keeps the replicas that are still discovered at the same address", async () => {
    const b = balancer();
    const before = await b.acquire();
    const other = b.tryAcquire()!;
    assert.deepEqual([before.replica.id, other.replica.id], ["a", "b"]);
    b.release(other);
    b.update(settings("fraud"), replicas("a", "b"));
    assert.equal(before.removed, false);
    assert.equal(other.removed, false);
    assert.equal(other.pool.closed, false);
    assert.equal(b.readyReplicas(), 2);
    b.release(before);
    assert.equal(before.inFlight, 0);
  });

  it("closes a removed replica's connections only when its last request ends", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 5 }, 10, ["a"]);
    const first = await b.acquire();
    await b.acquire();
    b.update(settings("fraud"), []);
    b.release(first);
    assert.equal(first.pool.closed, false, "one request still in flight");
    b.release(first);
    assert.equal(first.pool.closed, true);
  });

  it("closes every replica's connections when the balancer closes", async () => {
    const b = balancer();
    const a = b.tryAcquire()!;
    const other = b.tryAcquire()!;
    await b.close();
    assert.equal(a.pool.closed, true);
    assert.equal(other.pool.closed, true);
    assert.equal(b.readyReplicas(), 0);
  });

  it("does not move the rotation when no replica was free", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1 });
    const a = await b.acquire();
    const other = await b.acquire();
    assert.equal(b.tryAcquire(), undefined);
    b.release(a);
    b.release(other);
    assert.equal(b.tryAcquire()?.replica.id, "a", "the rotation starts where it was");
  });

  it("closes an idle removed replica's connections at once", async () => {
    const b = balancer();
    const slot = b.tryAcquire()!;
    b.release(slot);
    b.update(settings("fraud"), replicas("b"));
    assert.equal(slot.pool.closed, true);
  });

  it("takes new settings with each update (limits and the name in messages)", async () => {
    const b = balancer({ maxConcurrentRequestsPerReplica: 1 }, 0, ["a"]);
    await b.acquire();
    b.update(settings("fraud", { maxConcurrentRequestsPerReplica: 2 }), replicas("a"));
    assert.equal(b.settings.maxConcurrentRequestsPerReplica, 2);
    assert.equal((await b.acquire()).inFlight, 2);
  });
});
