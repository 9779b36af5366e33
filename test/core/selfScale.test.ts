import * as assert from "node:assert/strict";
import { DEFAULT_SELF_SCALE_LIMITS as L, decideSelfScale, type SelfScaleObservation } from "../../core/decisions/selfScale";

const base: SelfScaleObservation = { enabled: true, routingP95Ms: 2, cpuUtilization: 0.5, cpu: 1, replicas: 3, freeClusterCpu: 8, now: 10_000_000 };

describe("router self-scaling decisions", () => {
  it("is off for DevTest clusters", () => {
    assert.equal(decideSelfScale({ ...base, enabled: false, routingP95Ms: 100 }).action, "none");
  });
  it("scales up (more CPU per pod) first when routing is slow", () => {
    const d = decideSelfScale({ ...base, routingP95Ms: 50 });
    assert.deepEqual([d.action, d.cpu, d.replicas], ["up", 1.25, 3]);
  });
  it("scales out once a pod has what one event loop can use, not to cores it would leave idle", () => {
    const d = decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1.25 });
    assert.deepEqual([d.action, d.cpu, d.replicas], ["out", 1.25, 4]);
    assert.ok(Math.max(...L.cpuSteps) <= 1.5, "no CPU step beyond what a single router process can use");
  });
  it("never grows beyond free cluster capacity", () => {
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, freeClusterCpu: 0.5 }).action, "none");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1.25, replicas: L.maxReplicas }).action, "none");
  });
  it("scales down, then in, on low CPU", () => {
    assert.deepEqual(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 1.25 }).action, "down");
    const d = decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 0.5 });
    assert.deepEqual([d.action, d.replicas], ["in", 2]);
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 0.5, replicas: L.minReplicas }).action, "none");
  });
  it("waits for the cooldown between changes", () => {
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, lastChangeAt: base.now - 1_000 }).action, "none");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, lastChangeAt: base.now - L.cooldownMs - 1 }).action, "up");
  });
});

describe("router self-scaling: thresholds, limits and reasons", () => {
  it("ships with 0.5/1/1.25-core steps, 2 to 10 pods, 10 ms, 30 % CPU and a five-minute cooldown", () => {
    assert.deepEqual(L, { cpuSteps: [0.5, 1, 1.25], minReplicas: 2, maxReplicas: 10, latencyThresholdMs: 10, lowCpu: 0.3, cooldownMs: 300_000 });
  });

  it("says why it does nothing", () => {
    assert.equal(decideSelfScale({ ...base, enabled: false }).reason, "self-scaling is off (DevTest cluster or disabled in config)");
    assert.equal(decideSelfScale({ ...base, lastChangeAt: base.now }).reason, "cooling down after the last change");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, freeClusterCpu: 0, cpu: 1.25 }).reason, "routing is slow but the cluster has no free capacity (the router never adds nodes)");
    const within = decideSelfScale(base);
    assert.deepEqual(within, { action: "none", cpu: 1, replicas: 3, reason: "within thresholds" });
  });

  it("says why it changes, with the figures", () => {
    assert.deepEqual(decideSelfScale({ ...base, routingP95Ms: 12 }), { action: "up", cpu: 1.25, replicas: 3, reason: "routing p95 12 ms > 10 ms" });
    assert.deepEqual(decideSelfScale({ ...base, routingP95Ms: 12, cpu: 1.25 }), { action: "out", cpu: 1.25, replicas: 4, reason: "routing p95 12 ms > 10 ms at 1.25 cores per pod" });
    assert.deepEqual(decideSelfScale({ ...base, cpuUtilization: 0.123 }), { action: "down", cpu: 0.5, replicas: 3, reason: "CPU 12% < 30%" });
    assert.deepEqual(decideSelfScale({ ...base, cpuUtilization: 0.123, cpu: 0.5 }), { action: "in", cpu: 0.5, replicas: 2, reason: "CPU 12% < 30% at the smallest pod size" });
  });

  it("acts strictly above the latency threshold and strictly below the CPU threshold", () => {
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 10 }).action, "none");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 10.01 }).action, "up");
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.3 }).action, "none");
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.29 }).action, "down");
  });

  it("the cooldown ends exactly cooldownMs after the last change", () => {
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, lastChangeAt: base.now - L.cooldownMs + 1 }).action, "none");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, lastChangeAt: base.now - L.cooldownMs }).action, "up");
  });

  it("scales up when the extra cores for every pod fit exactly, otherwise out when one more pod fits", () => {
    // 3 pods from 1 to 1.25 cores need 0.75 free cores.
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, freeClusterCpu: 0.75 }).action, "up");
    const out = decideSelfScale({ ...base, routingP95Ms: 50, freeClusterCpu: 0.74 });
    assert.equal(out.action, "none", "0.74 cores: neither 3 × 0.25 more nor a fourth 1-core pod fit");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1.25, freeClusterCpu: 1.25 }).action, "out", "a new pod needs exactly its cores");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1.25, freeClusterCpu: 1.24 }).action, "none");
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1.25, replicas: L.maxReplicas - 1 }).replicas, L.maxReplicas);
  });

  it("scales in down to the minimum only", () => {
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 0.5, replicas: L.minReplicas + 1 }).replicas, L.minReplicas);
  });

  it("moves between the configured steps whatever their order, from a size between two steps", () => {
    const limits = { ...L, cpuSteps: [2, 0.5, 1] };
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 1 }, limits).cpu, 2);
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 1 }, limits).cpu, 0.5);
    // 0.75 cores (set by hand) sits below the 1-core step: up goes to the step after it, down to 0.5.
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 0.75 }).cpu, 1.25);
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 0.75 }).cpu, 0.5);
    // Above the largest step (set by hand) it is on no step: it scales out, never up or down.
    assert.equal(decideSelfScale({ ...base, routingP95Ms: 50, cpu: 2 }).action, "out");
    assert.equal(decideSelfScale({ ...base, cpuUtilization: 0.1, cpu: 2, replicas: 2 }).action, "none");
  });
});
