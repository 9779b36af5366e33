/** A service's Azure ML v1 style state from its replicas, as local mode and the CLI report it. */
import * as assert from "node:assert/strict";
import { serviceState, type ReplicaInfo } from "../../core/serviceState";

type R = Pick<ReplicaInfo, "status" | "reason">;
const r = (status: R["status"], reason?: string): R => ({ status, reason });

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

  it("a service scaled to zero is not Healthy", () => {
    assert.deepEqual(serviceState(0, []), { state: "Unhealthy", reason: "0/0 replicas ready" });
  });
});
