import * as assert from "node:assert/strict";
import { DEFAULT_SELF_SCALE_LIMITS as L, decideSelfScale, type SelfScaleObservation } from "../../core/selfScale";

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
