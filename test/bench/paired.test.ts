/**
 * The statistics behind the paired benchmarks (bench/paired.ts): what a reader of
 * bench/results takes a "median (IQR)" row and the self-pair verdict to mean.
 */
import * as assert from "node:assert/strict";
import { median, pairedDifferences, pairedRatios, quantile, selfPairHolds, spread } from "../../bench/paired";

describe("bench/paired", () => {
  it("takes the median of an even sample halfway between the middle two, whatever the input order", () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([3, 1, 2]), 2);
  });

  it("interpolates quartiles between ranks (numpy's default), so IQRs match a spreadsheet's", () => {
    assert.deepEqual(spread([5, 1, 4, 2, 3]), { median: 3, q1: 2, q3: 4, n: 5 });
    assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
    assert.equal(quantile([1, 2, 3, 4], 0.75), 3.25);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it("divides within each window, so a window the machine slowed for both targets cancels out", () => {
    // Window 2 ran on a busy machine: both targets cost twice as much, their ratio stays 2.
    const router = [100, 200, 100];
    const nginx = [50, 100, 50];
    assert.deepEqual(pairedRatios(router, nginx), [2, 2, 2]);
    assert.deepEqual(pairedDifferences([1.5, 2.5], [1, 2]), [0.5, 0.5]);
  });

  it("refuses samples of different lengths: they were not measured in the same windows", () => {
    assert.throws(() => pairedRatios([1, 2], [1]), /differ in length: 2 and 1/);
    assert.throws(() => pairedDifferences([1], [1, 2]), /differ in length: 1 and 2/);
  });

  it("holds the self-pair to 1.00 ± the band on its median, and fails a run that measured nothing", () => {
    const at = (m: number) => ({ median: m, q1: m - 0.1, q3: m + 0.1, n: 10 });
    assert.equal(selfPairHolds(at(1.02), 0.03), true);
    assert.equal(selfPairHolds(at(0.97), 0.03), true);
    assert.equal(selfPairHolds(at(1.04), 0.03), false);
    assert.equal(selfPairHolds(at(0.95), 0.03), false);
    assert.equal(selfPairHolds(at(Number.NaN), 0.03), false);
  });
});
