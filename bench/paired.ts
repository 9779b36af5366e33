/**
 * Statistics of paired benchmark windows: two targets measured in the same window see the same
 * machine (steal, co-running processes, cache pressure), so the ratio of their costs in that
 * window cancels what the machine did; the spread of that ratio over windows says how far the
 * method can be trusted. Pure functions, unit-tested in test/bench/paired.test.ts.
 */

/** The q-quantile (0-1) of `xs`, interpolated between the closest ranks (R's type 7, numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Median and interquartile range of a sample: what every ratio row reports. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
  n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), q1: quantile(xs, 0.25), q3: quantile(xs, 0.75), n: xs.length };
}

/** Per-window ratios a[i] / b[i] of two targets measured in the same windows. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`paired samples differ in length: ${a.length} and ${b.length}`);
  return a.map((x, i) => x / b[i]);
}

/** Per-window differences a[i] - b[i] (latencies: what one target adds over another in the same round). */
export function pairedDifferences(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`paired samples differ in length: ${a.length} and ${b.length}`);
  return a.map((x, i) => x - b[i]);
}

/**
 * The null test: a target paired with an identical copy of itself must come out at `expected`
 * (1 for a ratio, 0 for a difference) within `band`; outside it, the run measured the machine
 * more than the code and its other figures are not results.
 */
export function selfPairHolds(self: Spread, band: number, expected = 1): boolean {
  // The epsilon: 1 - 0.97 is 0.030000000000000027 in floating point, and 0.97 is inside the band.
  return Number.isFinite(self.median) && Math.abs(self.median - expected) <= band + 1e-12;
}
