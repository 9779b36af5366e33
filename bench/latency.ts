/**
 * Reading latency runs: h2load's per-request log, and which slow requests were in flight during a
 * garbage-collection pause of the proxy (the pauses router-process.ts records on SIGUSR2). Pure,
 * unit-tested in test/bench/latency.test.ts.
 */
import { quantile } from "./paired";

/** One request of an h2load --log-file: when it started and how long it took, in ms. */
export interface Timed {
  start: number;
  ms: number;
}

/** h2load's log lines: start (µs since the epoch), status, duration (µs). Lines that are not three numbers are skipped. */
export function parseH2loadLog(text: string): Timed[] {
  const out: Timed[] = [];
  for (const line of text.split("\n")) {
    const [start, status, us] = line.split("\t").map(Number);
    if (Number.isFinite(start) && Number.isFinite(status) && Number.isFinite(us)) out.push({ start: start / 1000, ms: us / 1000 });
  }
  return out;
}

/** A pause of the proxy's event loop: start (ms since the epoch) and length (ms). */
export interface Pause {
  start: number;
  ms: number;
}

/** Whether `r` was in flight at some moment of `p`. */
function overlaps(r: Timed, p: Pause): boolean {
  return r.start < p.start + p.ms && p.start < r.start + r.ms;
}

/**
 * How much of the tail the pauses explain: of the requests slower than the `q` quantile, the
 * share that were in flight during a pause, next to that share among all requests (what chance
 * alone gives). A tail share far above the base share says the pauses made the tail.
 */
export function tailInPauses(requests: readonly Timed[], pauses: readonly Pause[], q = 0.99): { threshold: number; tail: number; tailShare: number; baseShare: number } {
  const threshold = quantile(
    requests.map((r) => r.ms),
    q,
  );
  const hit = (r: Timed) => pauses.some((p) => overlaps(r, p));
  const slow = requests.filter((r) => r.ms > threshold);
  const share = (rs: readonly Timed[]) => (rs.length === 0 ? 0 : rs.filter(hit).length / rs.length);
  return { threshold, tail: slow.length, tailShare: share(slow), baseShare: share(requests) };
}
