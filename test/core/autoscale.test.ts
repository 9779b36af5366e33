import * as assert from "node:assert/strict";
import { SCALE_DOWN_DELAY_MS, decide, initialState, replicasFor, type AutoscalerState, type LoadSample } from "../../core/autoscale";
import type { AutoscaleSettings } from "../../core/routingSettings";

const auto: AutoscaleSettings = { enabled: true, minReplicas: 1, maxReplicas: 10, targetUtilization: 70 };
const sample = (readyReplicas: number, inFlight: number, queued = 0): LoadSample => ({ readyReplicas, inFlight, queued, maxConcurrentPerReplica: 1 });

/** Feeds the same sample every 250 ms for `ms` and returns the states and change times. */
function run(state: AutoscalerState, s: LoadSample, from: number, ms: number, settings = auto) {
  const changes: { at: number; to: number }[] = [];
  for (let t = from; t <= from + ms; t += 250) {
    const d = decide(settings, state, s, t);
    state = d.state;
    if (d.change) changes.push({ at: t - from, to: d.change.to });
  }
  return { state, changes };
}

describe("model autoscaler decisions", () => {
  it("implements Azure ML v1's sizing formula (20 rps × 10 s / 0.7 / 1 → 286)", () => {
    assert.equal(replicasFor({ targetRps: 20, requestSeconds: 10, targetUtilization: 0.7, maxConcurrentRequestsPerContainer: 1 }), 286);
    assert.equal(replicasFor({ targetRps: 20, requestSeconds: 10, targetUtilization: 70, maxConcurrentRequestsPerContainer: 1 }), 286);
    assert.equal(replicasFor({ targetRps: 100, requestSeconds: 0.1, targetUtilization: 0.5, maxConcurrentRequestsPerContainer: 2 }), 10);
    assert.throws(() => replicasFor({ targetRps: 0, requestSeconds: 1, targetUtilization: 0.7, maxConcurrentRequestsPerContainer: 1 }), /targetRps/);
  });

  it("scales up eagerly: within ~1 s of crossing the target, straight to what the demand needs", () => {
    const { changes } = run(initialState(auto, 2), sample(2, 2, 4), 0, 3_000);
    assert.equal(changes.length, 1);
    assert.ok(changes[0].at <= 1_000, `decided after ${changes[0].at} ms`);
    assert.equal(changes[0].to, Math.ceil(6 / 0.7), "6 busy-replica equivalents at 70 % → 9");
  });

  it("counts queued requests as demand, so a saturated service grows", () => {
    const busyOnly = run(initialState(auto, 2), sample(2, 2, 0), 0, 2_000).changes[0].to;
    const withQueue = run(initialState(auto, 2), sample(2, 2, 10), 0, 2_000).changes[0].to;
    assert.ok(withQueue > busyOnly, `${withQueue} <= ${busyOnly}`);
  });

  it("does not react to a spike shorter than the scale-up delay", () => {
    let state = initialState(auto, 2);
    state = decide(auto, state, sample(2, 2, 3), 0).state;
    state = decide(auto, state, sample(2, 2, 3), 500).state;
    const d = decide(auto, state, sample(2, 0, 0), 750);
    assert.equal(d.change, undefined);
    assert.equal(decide(auto, d.state, sample(2, 2, 3), 1_500).change, undefined, "the clock restarted when load fell");
  });

  it("scales down conservatively: only after a minute below target, at most halving", () => {
    const { changes } = run(initialState(auto, 8), sample(8, 1), 0, SCALE_DOWN_DELAY_MS + 1_000);
    assert.equal(changes.length, 1);
    assert.ok(changes[0].at >= SCALE_DOWN_DELAY_MS, `scaled down after ${changes[0].at} ms`);
    assert.equal(changes[0].to, 4);
  });

  it("stays within min and max", () => {
    assert.equal(run(initialState(auto, 9), sample(9, 9, 100), 0, 2_000).changes[0].to, 10);
    const small = { ...auto, minReplicas: 3 };
    const down = run(initialState(small, 4), sample(4, 0), 0, 3 * SCALE_DOWN_DELAY_MS, small).changes;
    assert.deepEqual(down.map((c) => c.to), [3]);
  });

  it("does nothing when autoscaling is off", () => {
    assert.deepEqual(run(initialState({ ...auto, enabled: false }, 1), sample(1, 1, 50), 0, 5_000, { ...auto, enabled: false }).changes, []);
  });

  it("does not pile up while new replicas are still starting", () => {
    let { state } = run(initialState(auto, 2), sample(2, 2, 4), 0, 1_000);
    assert.equal(state.desired, 9);
    // Still 2 ready, same load: 6 / 9 desired = 67 % < 70 %: wait for the new ones.
    ({ state } = run(state, sample(2, 2, 4), 1_250, 3_000));
    assert.equal(state.desired, 9);
  });
});
