/**
 * The router's autoscaling loop with its clock, coordinator and scaler faked (the decisions
 * themselves are core/decisions/autoscale.ts, tested in test/core): who acts, what load it decides on,
 * what it writes and reports, and what happens when writing fails.
 */
import * as assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import type { Gauge } from "prom-client";
import { SCALE_DOWN_DELAY_MS, SCALE_UP_DELAY_MS } from "../../core/decisions/autoscale";
import { Autoscaler, type ScaleDecision } from "../../router/autoscaler";
import { ServiceBalancer } from "../../router/balancer";
import { RouterMetrics } from "../../router/metrics";
import type { Coordinator, Scaler, ServiceLoad } from "../../router/types";
import { settings } from "../support/upstream";

const AUTOSCALE = { enabled: true, minReplicas: 1, maxReplicas: 10, targetUtilization: 70 };

function balancerWith(name: string, ready: number, over: Parameters<typeof settings>[1] = {}): ServiceBalancer {
  const s = settings(name, { autoscale: AUTOSCALE, ...over });
  const b = new ServiceBalancer(s, 100);
  b.update(
    s,
    Array.from({ length: ready }, (_, i) => ({ id: `${name}-${i}`, url: `http://127.0.0.1:${41_000 + i}` })),
  );
  return b;
}

class FakeScaler implements Scaler {
  calls: [string, number][] = [];
  failures = 0;
  async setReplicas(service: string, replicas: number): Promise<void> {
    this.calls.push([service, replicas]);
    if (this.failures > 0) {
      this.failures--;
      throw new Error("the API server said no");
    }
  }
}

class FakeCoordinator implements Coordinator {
  leader = true;
  collected: Record<string, ServiceLoad>[] = [];
  /** What every other pod adds, per service. */
  others: Record<string, ServiceLoad> = {};
  gate?: Promise<void>;
  isLeader(): boolean {
    return this.leader;
  }
  leaderPod(): string | undefined {
    return undefined;
  }
  async collect(local: Record<string, ServiceLoad>): Promise<Record<string, ServiceLoad>> {
    this.collected.push(local);
    await this.gate;
    const total: Record<string, ServiceLoad> = {};
    for (const [name, l] of Object.entries(local)) {
      const o = this.others[name] ?? { inFlight: 0, queued: 0 };
      total[name] = { inFlight: l.inFlight + o.inFlight, queued: l.queued + o.queued };
    }
    return total;
  }
  async close(): Promise<void> {}
}

async function gauge(g: Gauge, service: string): Promise<number | undefined> {
  return (await g.get()).values.find((v) => v.labels.service === service)?.value;
}

describe("router autoscaler loop", () => {
  const balancers = new Map<string, ServiceBalancer>();
  let clock: { t: number };
  let scaler: FakeScaler;
  let coordinator: FakeCoordinator;
  let metrics: RouterMetrics;
  let decisions: ScaleDecision[];
  let logged: Record<string, unknown>[];
  const made: Autoscaler[] = [];

  function autoscaler(intervalMs = 0): Autoscaler {
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        const { level, msg, service, from, to, reason, err } = JSON.parse(chunk.toString("utf8")) as Record<string, unknown>;
        logged.push({ level, msg, service, from, to, reason, err });
        done();
      },
    });
    const a = new Autoscaler(balancers, scaler, coordinator, metrics, pino({ level: "info" }, stream), {
      intervalMs,
      now: () => clock.t,
      onDecision: (d) => decisions.push(d),
    });
    made.push(a);
    return a;
  }

  beforeEach(() => {
    clock = { t: 1_000_000 };
    scaler = new FakeScaler();
    coordinator = new FakeCoordinator();
    metrics = new RouterMetrics();
    decisions = [];
    logged = [];
  });
  afterEach(async () => {
    for (const a of made.splice(0)) a.close();
    for (const b of balancers.values()) await b.close();
    balancers.clear();
  });

  it("scales up from the load of all router pods once it has been over target for the scale-up delay", async () => {
    balancers.set("fraud", balancerWith("fraud", 2));
    coordinator.others = { fraud: { inFlight: 2, queued: 4 } };
    const a = autoscaler();
    await a.tick();
    assert.deepEqual(scaler.calls, [], "over target, but not yet for the scale-up delay");
    assert.equal(a.desired("fraud"), 2);
    assert.equal(await gauge(metrics.utilization, "fraud"), 300, "6 busy-replica equivalents over 2 replicas");
    assert.equal(await gauge(metrics.replicasReady, "fraud"), 2);
    clock.t += SCALE_UP_DELAY_MS;
    await a.tick();
    assert.deepEqual(scaler.calls, [["fraud", 9]], "ceil(6 / 0.7)");
    assert.equal(a.desired("fraud"), 9);
    assert.equal(await gauge(metrics.replicasDesired, "fraud"), 9);
    assert.deepEqual(decisions, [{ service: "fraud", from: 2, to: 9, reason: "utilization 300% above target 70%", at: clock.t }]);
  });

  it("reports its own pod's load to the coordinator and publishes its own queue length", async () => {
    const b = balancerWith("fraud", 1, { maxConcurrentRequestsPerReplica: 1, maxQueueWaitMs: 60_000 });
    balancers.set("fraud", b);
    await b.acquire();
    const queued = b.acquire().catch(() => undefined);
    const a = autoscaler();
    assert.deepEqual(a.localLoad(), { fraud: { inFlight: 1, queued: 1 } });
    await a.tick();
    assert.deepEqual(coordinator.collected, [{ fraud: { inFlight: 1, queued: 1 } }]);
    assert.equal(await gauge(metrics.queued, "fraud"), 1);
    await b.close();
    await queued;
  });

  it("does nothing but publish its queue length on a pod that is not the leader", async () => {
    balancers.set("fraud", balancerWith("fraud", 2));
    coordinator.leader = false;
    coordinator.others = { fraud: { inFlight: 50, queued: 50 } };
    const a = autoscaler();
    await a.tick();
    clock.t += SCALE_UP_DELAY_MS;
    await a.tick();
    assert.deepEqual(coordinator.collected, [], "a follower does not collect");
    assert.deepEqual(scaler.calls, []);
    assert.equal(a.desired("fraud"), undefined);
    assert.equal(await gauge(metrics.queued, "fraud"), 0);
    assert.equal(await gauge(metrics.replicasReady, "fraud"), undefined);
  });

  it("leaves services with autoscaling off alone", async () => {
    balancers.set("fixed", balancerWith("fixed", 2, { autoscale: { ...AUTOSCALE, enabled: false } }));
    coordinator.others = { fixed: { inFlight: 50, queued: 50 } };
    const a = autoscaler();
    await a.tick();
    clock.t += SCALE_UP_DELAY_MS;
    await a.tick();
    assert.deepEqual(scaler.calls, []);
    assert.equal(a.desired("fixed"), undefined);
    assert.equal(await gauge(metrics.replicasReady, "fixed"), 2, "ready replicas are still reported");
    assert.equal(await gauge(metrics.utilization, "fixed"), undefined);
  });

  it("starts from the ready replicas but never below the minimum", async () => {
    balancers.set("fraud", balancerWith("fraud", 0, { autoscale: { ...AUTOSCALE, minReplicas: 3 } }));
    const a = autoscaler();
    await a.tick();
    assert.equal(a.desired("fraud"), 3);
    assert.deepEqual(scaler.calls, []);
  });

  it("scales down after the scale-down delay when no pod reports load for the service", async () => {
    balancers.set("fraud", balancerWith("fraud", 4));
    coordinator.collect = async () => ({});
    const a = autoscaler();
    await a.tick();
    assert.equal(await gauge(metrics.utilization, "fraud"), 0);
    clock.t += SCALE_DOWN_DELAY_MS;
    await a.tick();
    assert.deepEqual(scaler.calls, [["fraud", 2]], "at most halved in one step");
    assert.equal(decisions[0].reason, "utilization 0% below target 70% for 60 s");
  });

  it("forgets a change the scaler could not write, and tries again next round", async () => {
    balancers.set("fraud", balancerWith("fraud", 2));
    coordinator.others = { fraud: { inFlight: 6, queued: 0 } };
    scaler.failures = 1;
    const a = autoscaler();
    await a.tick();
    clock.t += SCALE_UP_DELAY_MS;
    await a.tick();
    assert.deepEqual(scaler.calls, [["fraud", 9]]);
    assert.equal(a.desired("fraud"), 2, "the failed change is not remembered");
    await a.tick();
    assert.deepEqual(scaler.calls, [["fraud", 9], ["fraud", 9]]);
    assert.equal(a.desired("fraud"), 9);
    const change = { level: 30, msg: "autoscale", service: "fraud", from: 2, to: 9, reason: "utilization 300% above target 70%", err: undefined };
    assert.deepEqual(logged, [
      change,
      { level: 50, msg: "autoscale: could not set replicas", service: "fraud", from: undefined, to: undefined, reason: undefined, err: "the API server said no" },
      change,
    ]);
  });

  it("skips a round while the previous one is still running", async () => {
    balancers.set("fraud", balancerWith("fraud", 2));
    let open!: () => void;
    coordinator.gate = new Promise((resolve) => (open = resolve));
    const a = autoscaler();
    const first = a.tick();
    await a.tick();
    assert.equal(coordinator.collected.length, 1);
    open();
    await first;
    await a.tick();
    assert.equal(coordinator.collected.length, 2, "the next round runs once the first has finished");
  });

  it("forgets the state of a service that is gone", async () => {
    balancers.set("fraud", balancerWith("fraud", 2));
    balancers.set("churn", balancerWith("churn", 1));
    const a = autoscaler();
    await a.tick();
    assert.equal(a.desired("churn"), 1);
    await balancers.get("churn")!.close();
    balancers.delete("churn");
    await a.tick();
    assert.equal(a.desired("churn"), undefined);
    assert.equal(a.desired("fraud"), 2);
  });

  it("reports an unbounded utilization as 100 %", async () => {
    balancers.set("fraud", balancerWith("fraud", 1, { maxConcurrentRequestsPerReplica: 0 }));
    coordinator.others = { fraud: { inFlight: 1, queued: 0 } };
    const a = autoscaler();
    await a.tick();
    assert.equal(await gauge(metrics.utilization, "fraud"), 100);
  });

  it("decides on its own timer, and not at all with intervalMs 0", async () => {
    balancers.set("fraud", balancerWith("fraud", 1));
    autoscaler(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(coordinator.collected.length, 0);
    const timed = autoscaler(5);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.ok(coordinator.collected.length >= 2, `ticked ${coordinator.collected.length} times`);
    timed.close();
    const after = coordinator.collected.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(coordinator.collected.length, after, "close stops the timer");
  });
});
