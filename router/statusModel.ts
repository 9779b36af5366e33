/**
 * What the router's status page shows, computed from the counters the Prometheus metrics hold
 * (router/metrics.ts): once a second the sampler takes the difference of the cumulative counts
 * since the previous second and keeps it in a ring of the last 15 minutes, so memory does not
 * grow with uptime. Pure functions here; reading prom-client and serving HTTP in router/status.ts.
 */
import type { RestartSummary } from "../core/decisions/serviceState";

/** 15 minutes of one-second samples. */
export const RING_SECONDS = 900;
/** The table's rates and latencies: the last 10 seconds, steady enough to read, recent enough to act on. */
export const WINDOW_SECONDS = 10;

export type StatusClass = "2xx" | "3xx" | "4xx" | "5xx";

/** One service during one second. */
export interface ServiceSecond {
  requests: number;
  byClass: Record<StatusClass, number>;
  /** 503s: queue full or waited too long, no replica — the "add capacity" signal. */
  unavailable: number;
  /** Requests per latency bucket (not cumulative), bucket bounds in `StatusSnapshot.buckets`. */
  latency: number[];
  ready: number;
  desired: number;
  utilization: number;
  queued: number;
}

export interface Sample {
  /** Unix ms at the end of the second. */
  t: number;
  services: Record<string, ServiceSecond>;
}

/** A fixed-capacity ring: the oldest entry goes when a new one comes. */
export class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, got ${capacity}`);
  }
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }
  get size(): number {
    return this.items.length;
  }
  /** Oldest first. */
  toArray(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

export function statusClass(status: number): StatusClass | undefined {
  if (status >= 200 && status < 600) return `${Math.floor(status / 100)}xx` as StatusClass;
  return undefined;
}

/**
 * The q-quantile (0..1) of requests counted per bucket (`counts[i]` requests at most `bounds[i]`
 * seconds, the last count for anything slower), interpolated linearly inside the bucket as
 * Prometheus' histogram_quantile does; undefined with no requests. Above the last bound, the
 * last bound (a floor, as Prometheus reports it).
 */
export function quantile(q: number, bounds: readonly number[], counts: readonly number[]): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i] ?? 0;
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1];
}

/** Cumulative counts as read from the metrics at one instant. */
export interface Counts {
  /** service → status → requests since start. */
  requests: Map<string, Map<number, number>>;
  /** service → cumulative bucket counts (Prometheus `le` order, +Inf last). */
  buckets: Map<string, number[]>;
}

export interface Gauges {
  ready: number;
  desired: number;
  utilization: number;
  queued: number;
}

/** One second's sample: what changed between two readings of the cumulative counts. */
export function sampleBetween(prev: Counts | undefined, now: Counts, gauges: Map<string, Gauges>, t: number): Sample {
  const services: Record<string, ServiceSecond> = {};
  const names = new Set([...now.requests.keys(), ...gauges.keys()]);
  names.delete("unknown");
  for (const name of names) {
    const byClass: Record<StatusClass, number> = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
    let requests = 0;
    let unavailable = 0;
    for (const [status, count] of now.requests.get(name) ?? []) {
      const delta = count - (prev?.requests.get(name)?.get(status) ?? 0);
      if (delta <= 0) continue;
      requests += delta;
      const cls = statusClass(status);
      if (cls) byClass[cls] += delta;
      if (status === 503) unavailable += delta;
    }
    const cum = now.buckets.get(name) ?? [];
    const before = prev?.buckets.get(name) ?? [];
    // Cumulative (le) counts of this second, then per bucket.
    const inSecond = cum.map((c, i) => Math.max(0, c - (before[i] ?? 0)));
    const latency = inSecond.map((c, i) => Math.max(0, c - (i === 0 ? 0 : inSecond[i - 1])));
    const g = gauges.get(name) ?? { ready: 0, desired: 0, utilization: 0, queued: 0 };
    services[name] = { requests, byClass, unavailable, latency, ...g };
  }
  return { t, services };
}

export interface ServiceSettingsView {
  minReplicas: number;
  maxReplicas: number;
  targetUtilization: number;
  autoscale: boolean;
}

/** One row of the table (and of `aks-inference status`). */
export interface ServiceRow {
  name: string;
  state: "Healthy" | "Scaling" | "Degraded" | "Down" | "CrashLoopBackOff";
  ready: number;
  desired: number;
  minReplicas: number;
  maxReplicas: number;
  utilization: number;
  targetUtilization: number;
  rps: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Share of answers per status class over the window, 0..1. */
  errorRate: { "4xx": number; "5xx": number };
  queued: number;
  unavailable: number;
  /** Per second over the ring, oldest first: requests/s, p99 ms (null: no request), ready replicas. */
  series: { rps: number[]; p99Ms: (number | null)[]; replicas: number[] };
  /** Restarts of its replicas; absent where the router is not told them (on a cluster: `aks-inference state`). */
  restarts?: number;
  /** Why it is in CrashLoopBackOff: restarts, last exit code, message and when. */
  crashLoop?: string;
}

/**
 * What a person needs to know at a glance: CrashLoopBackOff (a replica keeps crashing: it stays
 * so between crashes, rather than flipping between Down and Degraded), Down (no replica ready),
 * Degraded (answers 5xx or turns requests away with 503), Scaling (ready differs from desired),
 * else Healthy.
 */
export function rowState(ready: number, desired: number, fiveXX: number, crashLoop = false): ServiceRow["state"] {
  if (crashLoop) return "CrashLoopBackOff";
  if (ready === 0 && desired > 0) return "Down";
  if (fiveXX > 0) return "Degraded";
  if (ready !== desired) return "Scaling";
  return "Healthy";
}

/** The table's rows from the ring (oldest first), each service's settings and, when known, its replicas' restarts. */
export function rows(samples: readonly Sample[], bounds: readonly number[], settings: Map<string, ServiceSettingsView>, restarts?: (service: string) => RestartSummary | undefined): ServiceRow[] {
  const names = new Set<string>(settings.keys());
  for (const s of samples) for (const n of Object.keys(s.services)) names.add(n);
  const window = samples.slice(-WINDOW_SECONDS);
  const seconds = Math.max(1, window.length);
  const out: ServiceRow[] = [];
  for (const name of [...names].sort()) {
    const mine = window.map((s) => s.services[name]).filter((x): x is ServiceSecond => x !== undefined);
    const last = mine[mine.length - 1];
    const sum = (f: (x: ServiceSecond) => number) => mine.reduce((a, x) => a + f(x), 0);
    const requests = sum((x) => x.requests);
    const latency = bounds.map((_, i) => sum((x) => x.latency[i] ?? 0)).concat([sum((x) => x.latency[bounds.length] ?? 0)]);
    const ms = (q: number) => {
      const v = quantile(q, bounds, latency);
      return v === undefined ? undefined : v * 1000;
    };
    const s = settings.get(name);
    const fiveXX = sum((x) => x.byClass["5xx"]);
    // Without autoscaling the count is fixed (min = max); the autoscaler publishes no desired count.
    const desired = s && !s.autoscale ? s.minReplicas : (last?.desired ?? 0);
    const restarted = restarts?.(name);
    out.push({
      name,
      state: rowState(last?.ready ?? 0, desired, fiveXX, restarted?.crashLoop !== undefined),
      ready: last?.ready ?? 0,
      desired,
      minReplicas: s?.minReplicas ?? 0,
      maxReplicas: s?.maxReplicas ?? 0,
      utilization: last?.utilization ?? 0,
      targetUtilization: s?.targetUtilization ?? 0,
      rps: requests / seconds,
      p50Ms: ms(0.5),
      p99Ms: ms(0.99),
      errorRate: { "4xx": requests ? sum((x) => x.byClass["4xx"]) / requests : 0, "5xx": requests ? fiveXX / requests : 0 },
      queued: last?.queued ?? 0,
      unavailable: sum((x) => x.unavailable),
      series: {
        rps: samples.map((x) => x.services[name]?.requests ?? 0),
        p99Ms: samples.map((x) => {
          const sec = x.services[name];
          const v = sec ? quantile(0.99, bounds, sec.latency) : undefined;
          return v === undefined ? null : v * 1000;
        }),
        replicas: samples.map((x) => x.services[name]?.ready ?? 0),
      },
      ...(restarted ? { restarts: restarted.restarts, ...(restarted.crashLoop ? { crashLoop: restarted.crashLoop } : {}) } : {}),
    });
  }
  return out;
}
