import * as assert from "node:assert/strict";
import { SCALE_DOWN_DELAY_MS, SCALE_UP_DELAY_MS, decide, initialState, replicasFor, replicasForDemand, utilizationPercent, type AutoscalerState, type LoadSample } from "../../core/decisions/autoscale";
import type { AutoscaleSettings } from "../../core/contracts/routingSettings";

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

describe("model autoscaler decisions: exact thresholds and reasons", () => {
  it("decides after 1 s above target and 60 s below, unless told otherwise", () => {
    assert.equal(SCALE_UP_DELAY_MS, 1_000);
    assert.equal(SCALE_DOWN_DELAY_MS, 60_000);
    const first = decide(auto, initialState(auto, 2), sample(2, 4), 0);
    assert.equal(first.change, undefined);
    assert.equal(first.state.aboveSince, 0);
    assert.equal(decide(auto, first.state, sample(2, 4), 999).change, undefined);
    assert.deepEqual(decide(auto, first.state, sample(2, 4), 1_000).change, { from: 2, to: 6, reason: "utilization 200% above target 70%" });
    assert.deepEqual(decide(auto, first.state, sample(2, 4), 10, { scaleUpDelayMs: 10 }).change?.to, 6);
    const low = decide(auto, initialState(auto, 4), sample(4, 0), 0).state;
    assert.equal(low.belowSince, 0);
    assert.equal(decide(auto, low, sample(4, 0), 59_999).change, undefined);
    assert.deepEqual(decide(auto, low, sample(4, 0), 60_000).change, { from: 4, to: 2, reason: "utilization 0% below target 70% for 60 s" });
    assert.equal(decide(auto, low, sample(4, 0), 5_000, { scaleDownDelayMs: 5_000 }).change?.reason, "utilization 0% below target 70% for 5 s");
  });

  it("does nothing at exactly the target utilization, and forgets when load was above or below", () => {
    const above = decide(auto, initialState(auto, 10), sample(10, 9), 0).state;
    assert.equal(above.aboveSince, 0);
    const at = decide(auto, above, sample(10, 7), 5_000);
    assert.equal(at.utilization, 70);
    assert.equal(at.change, undefined);
    assert.deepEqual(at.state, { desired: 10 }, "neither above nor below any more");
    const below = decide(auto, at.state, sample(10, 6), 6_000).state;
    assert.deepEqual(below, { desired: 10, belowSince: 6_000 });
    assert.deepEqual(decide(auto, below, sample(10, 8), 7_000).state, { desired: 10, aboveSince: 7_000 });
  });

  it("grows straight to ceil(demand / target), capped at the maximum", () => {
    const big = { ...auto, targetUtilization: 90, maxReplicas: 200 };
    assert.deepEqual(decide(big, { desired: 10, aboveSince: 0 }, sample(10, 10), 1_000).change, { from: 10, to: 12, reason: "utilization 100% above target 90%" }, "ceil(10 / 0.9) = 12");
    assert.equal(decide({ ...big, targetUtilization: 99 }, { desired: 100, aboveSince: 0 }, sample(100, 100), 1_000).change?.to, 102, "ceil(100 / 0.99) = 102");
    assert.equal(decide({ ...big, maxReplicas: 11 }, { desired: 10, aboveSince: 0 }, sample(10, 10), 1_000).change?.to, 11);
  });

  it("does not report a change when already at the maximum or minimum", () => {
    const top = decide(auto, { desired: 10, aboveSince: 0 }, sample(10, 50), 1_000);
    assert.equal(top.change, undefined);
    assert.equal(top.state.aboveSince, 0, "keeps waiting above target");
    const bottom = decide({ ...auto, minReplicas: 2 }, { desired: 2, belowSince: 0 }, sample(2, 0), SCALE_DOWN_DELAY_MS);
    assert.equal(bottom.change, undefined);
    assert.equal(bottom.state.belowSince, 0);
  });

  it("scales down to what the demand needs when that is more than half", () => {
    const d = decide(auto, { desired: 10, belowSince: 0 }, sample(10, 6), SCALE_DOWN_DELAY_MS);
    assert.equal(d.change?.to, 9, "ceil(6 / 0.7) = 9, more than half of 10");
    assert.equal(d.state.belowSince, undefined, "the next step down waits a full delay again");
    const half = decide(auto, { desired: 9, belowSince: 0 }, sample(9, 0), SCALE_DOWN_DELAY_MS);
    assert.equal(half.change?.to, 5, "ceil(9 / 2)");
  });

  it("measures utilization against the desired replicas when more are on their way, and never divides by zero", () => {
    assert.equal(decide(auto, { desired: 4 }, sample(2, 2), 0).utilization, 50);
    assert.equal(decide(auto, { desired: 2 }, sample(4, 2), 0).utilization, 50);
    assert.equal(decide(auto, { desired: 0 }, sample(0, 1), 0).utilization, 100);
  });

  it("keeps the desired count within min and max even when autoscaling is off", () => {
    const off = { ...auto, enabled: false, minReplicas: 2, maxReplicas: 3 };
    assert.deepEqual(decide(off, { desired: 5 }, sample(5, 0), 0), { state: { desired: 3 }, utilization: 0 });
    assert.deepEqual(initialState(off, 1), { desired: 2 });
    assert.deepEqual(initialState(off, 9), { desired: 3 });
  });

  it("utilization counts queued requests per replica slot, in percent", () => {
    assert.equal(utilizationPercent({ readyReplicas: 2, inFlight: 2, queued: 2, maxConcurrentPerReplica: 2 }, 2), 100);
    assert.equal(utilizationPercent({ readyReplicas: 0, inFlight: 0, queued: 1, maxConcurrentPerReplica: 1 }, 0), Infinity);
    assert.equal(utilizationPercent({ readyReplicas: 0, inFlight: 1, queued: 0, maxConcurrentPerReplica: 1 }, 0), Infinity);
    assert.equal(utilizationPercent({ readyReplicas: 0, inFlight: 0, queued: 0, maxConcurrentPerReplica: 1 }, 0), 0);
    assert.equal(replicasForDemand({ readyReplicas: 1, inFlight: 3, queued: 4, maxConcurrentPerReplica: 2 }, 50), 7);
  });

  it("sizing: each input must be a positive number, the utilization at most 100 %", () => {
    const ok = { targetRps: 20, requestSeconds: 10, targetUtilization: 0.7, maxConcurrentRequestsPerContainer: 1 };
    for (const [key, bad] of [["targetRps", -1], ["requestSeconds", 0], ["maxConcurrentRequestsPerContainer", Number.NaN], ["targetUtilization", 0]] as const) {
      assert.throws(() => replicasFor({ ...ok, [key]: bad }), { name: "RangeError", message: `${key} must be a positive number (got ${bad})` });
    }
    assert.throws(() => replicasFor({ ...ok, requestSeconds: Infinity }), { message: "requestSeconds must be a positive number (got Infinity)" });
    assert.throws(() => replicasFor({ ...ok, targetUtilization: 101 }), { name: "RangeError", message: "targetUtilization must be at most 100 % (got 101)" });
    assert.equal(replicasFor({ ...ok, targetUtilization: 1 }), 200, "1 is 100 %, not 1 %");
    assert.equal(replicasFor({ ...ok, targetUtilization: 100 }), 200);
    assert.equal(replicasFor({ ...ok, targetRps: 21 }), 300);
    assert.equal(replicasFor({ ...ok, maxConcurrentRequestsPerContainer: 4 }), 72);
  });
});
