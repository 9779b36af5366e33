/** A service's Azure ML v1 style state from its replicas, as local mode and the CLI report it. */
import * as assert from "node:assert/strict";
import { restartSummary, serviceState, type ReplicaInfo } from "../../core/decisions/serviceState";

type R = Pick<ReplicaInfo, "status" | "reason" | "crashLoop">;
const r = (status: R["status"], reason?: string): R => ({ status, reason });
const LOOP = `CrashLoopBackOff (restarts 5, last exit: code 1 "ModuleNotFoundError: No module named 'x'" 12 s ago)`;
const looping = (status: R["status"]): R => ({ status, reason: LOOP, crashLoop: true });

describe("service state", () => {
  it("Healthy once as many replicas are ready as desired (or more)", () => {
    assert.deepEqual(serviceState(2, [r("ready"), r("ready")]), { state: "Healthy" });
    assert.deepEqual(serviceState(1, [r("ready"), r("ready")]), { state: "Healthy" });
    assert.deepEqual(serviceState(2, [r("ready"), r("ready"), r("crashed", "oom")]), { state: "Healthy" });
  });

  it("Transitioning while a replica starts, with how many are ready", () => {
    assert.deepEqual(serviceState(2, [r("ready"), r("starting")]), { state: "Transitioning", reason: "1/2 replicas ready" });
  });

  it("Failed when a replica failed and none is ready, with the failure's reason", () => {
    assert.deepEqual(serviceState(2, [r("failed", "init() raised"), r("starting")]), { state: "Failed", reason: "init() raised" });
  });

  it("Failed gives the failed replica's reason, not the first replica's", () => {
    assert.deepEqual(serviceState(2, [r("crashed", "exit code 137"), r("failed", "init() raised")]), { state: "Failed", reason: "init() raised" });
  });

  it("a failed replica next to a ready one is not Failed", () => {
    assert.deepEqual(serviceState(2, [r("ready"), r("failed", "init() raised")]), { state: "Unhealthy", reason: "init() raised" });
  });

  it("Unhealthy with the crash reason when replicas are missing and none is starting", () => {
    assert.deepEqual(serviceState(2, [r("ready"), r("crashed", "exit code 137")]), { state: "Unhealthy", reason: "exit code 137" });
    assert.deepEqual(serviceState(2, [r("ready"), r("stopping")]), { state: "Unhealthy", reason: "1/2 replicas ready" });
  });

  it("Unhealthy with the crash loop's reason while a replica loops, even in the seconds it is ready between crashes", () => {
    assert.deepEqual(serviceState(1, [looping("ready")]), { state: "Unhealthy", reason: LOOP });
    assert.deepEqual(serviceState(1, [looping("starting")]), { state: "Unhealthy", reason: LOOP }, "not Transitioning: it has been starting again and again");
    assert.deepEqual(serviceState(2, [r("ready"), r("ready"), looping("crashed")]), { state: "Unhealthy", reason: LOOP });
    assert.deepEqual(serviceState(1, [looping("crashed"), r("failed", "init() raised")]), { state: "Failed", reason: "init() raised" }, "a failed init() says more");
  });

  it("sums the replicas' restarts for the status page, with the first crash loop's reason", () => {
    assert.deepEqual(restartSummary([]), { restarts: 0 });
    assert.deepEqual(restartSummary([{ restarts: 2 }, { restarts: 1, reason: "replica x exited (code 1)" }]), { restarts: 3 });
    assert.deepEqual(restartSummary([{ restarts: 1 }, { restarts: 5, reason: LOOP, crashLoop: true }, { restarts: 7, reason: "other", crashLoop: true }]), { restarts: 13, crashLoop: LOOP });
  });

  it("a service scaled to zero is not Healthy", () => {
    assert.deepEqual(serviceState(0, []), { state: "Unhealthy", reason: "0/0 replicas ready" });
  });
});
