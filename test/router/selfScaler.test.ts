/**
 * The router's self-scaling loop with its clock, CPU source, size and leadership faked: the p95
 * it reads from the overhead histogram, the CPU maths, the cooldown, and that only the leader acts.
 */
import * as assert from "node:assert/strict";
import pino from "pino";
import { DEFAULT_SELF_SCALE_LIMITS } from "../../core/decisions/selfScale";
import { RouterMetrics } from "../../router/metrics";
import { SelfScaler, type RouterSize } from "../../router/selfScaler";
import type { Coordinator } from "../../router/types";

class FakeSize implements RouterSize {
  applied: { cpu: number; replicas: number }[] = [];
  constructor(
    public cpu = 0.5,
    public replicas = 2,
    public free = 8,
  ) {}
  async current() {
    return { cpu: this.cpu, replicas: this.replicas };
  }
  async freeCpu() {
    return this.free;
  }
  async apply(cpu: number, replicas: number) {
    this.applied.push({ cpu, replicas });
    this.cpu = cpu;
    this.replicas = replicas;
  }
}

function setup(opts: { leader?: boolean; overheadMs?: number[]; replicas?: number } = {}) {
  const t = { now: 1_000_000, cpu: 0 };
  const clock = { now: () => t.now, cpuMicros: () => t.cpu };
  const coordinator: Coordinator = { isLeader: () => opts.leader ?? true, leaderPod: () => undefined, collect: async (l) => l, close: async () => undefined };
  const metrics = new RouterMetrics();
  for (const ms of opts.overheadMs ?? []) metrics.overhead.observe(ms / 1000);
  const size = new FakeSize(0.5, opts.replicas ?? 2);
  const scaler = new SelfScaler(size, coordinator, metrics, pino({ level: "silent" }), DEFAULT_SELF_SCALE_LIMITS, { intervalMs: 3_600_000, clock });
  /** One minute passes in which the process used `cpuSeconds` of CPU. */
  const minute = (cpuSeconds: number) => {
    t.now += 60_000;
    t.cpu += cpuSeconds * 1e6;
  };
  return { scaler, size, minute, metrics, t };
}

describe("router self-scaler", () => {
  it("scales up a step when the p95 of its own routing time is over the threshold", async () => {
    const { scaler, size, minute } = setup({ overheadMs: [...Array(90).fill(1), ...Array(10).fill(20)] });
    minute(30);
    await scaler.tick();
    assert.deepEqual(size.applied, [{ cpu: 1, replicas: 2 }], "p95 falls in the 25 ms bucket, over 10 ms");
    scaler.close();
  });

  it("does nothing while routing is fast and the CPU busy enough", async () => {
    const { scaler, size, minute } = setup({ overheadMs: Array(100).fill(0.4) });
    minute(20); // 20 s of CPU in 60 s on a 0.5-core pod: 67 % busy
    await scaler.tick();
    assert.deepEqual(size.applied, []);
    scaler.close();
  });

  it("scales in when CPU use over the round is low (CPU seconds / elapsed / cores), never below the minimum", async () => {
    const { scaler, size, minute } = setup({ overheadMs: Array(100).fill(0.4), replicas: 3 });
    minute(3); // 3 s in 60 s on 0.5 cores: 10 % < 30 %
    await scaler.tick();
    assert.deepEqual(size.applied, [{ cpu: 0.5, replicas: 2 }]);
    for (let i = 0; i < 6; i++) minute(3);
    await scaler.tick();
    assert.equal(size.applied.length, 1, "2 pods is the minimum");
    scaler.close();
  });

  it("waits the cooldown between two changes", async () => {
    const { scaler, size, minute } = setup({ overheadMs: Array(100).fill(30) });
    minute(30);
    await scaler.tick();
    minute(30);
    await scaler.tick();
    assert.equal(size.applied.length, 1, "one change per five minutes");
    for (let i = 0; i < 5; i++) minute(30);
    await scaler.tick();
    assert.equal(size.applied.length, 2);
    scaler.close();
  });

  it("acts only on the leader pod", async () => {
    const { scaler, size, minute } = setup({ leader: false, overheadMs: Array(100).fill(30) });
    minute(30);
    await scaler.tick();
    assert.deepEqual(size.applied, []);
    scaler.close();
  });
});
