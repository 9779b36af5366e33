/**
 * The router's status page, on the admin port (never the public one): `GET /` is a small
 * self-contained page (its stylesheet and script come from this router, no CDN, no font) that
 * polls `GET /status.json` once a second. The sampler reads the Prometheus counters and gauges
 * of router/metrics.ts each second (no second bookkeeping) into a bounded ring
 * (router/statusModel.ts). Nothing here reads keys or tokens.
 */
import type * as http from "node:http";
import type { RestartSummary } from "../core/decisions/serviceState";
import type { ScaleDecision } from "./autoscaler";
import { unitOfLabels, type RouterMetrics } from "./metrics";
import type { Coordinator } from "./types";
import { STATUS_CSS, STATUS_HTML, STATUS_JS } from "./statusAssets";
import { RING_SECONDS, Ring, rows, sampleBetween, type Counts, type Gauges, type Sample, type ServiceRow, type ServiceSettingsView } from "./statusModel";

export interface StatusJson {
  at: number;
  /**
   * This router pod (HOSTNAME on a cluster), whether it makes the autoscaling decisions, and
   * which pod does (on a cluster, the Lease's holder as this pod last read it).
   */
  router: { pod: string; leader: boolean; leaderPod?: string };
  services: ServiceRow[];
  /** The autoscaler's last changes on this pod (the leader's), newest first. */
  decisions: ScaleDecision[];
}

/** How many of the autoscaler's last changes the page lists. */
const DECISIONS_KEPT = 20;

/** Reads the cumulative counts and the gauges from the metrics, as a scrape would. */
async function read(metrics: RouterMetrics): Promise<{ counts: Counts; gauges: Map<string, Gauges>; bounds: number[] }> {
  const requests = new Map<string, Map<number, number>>();
  for (const v of (await metrics.requests.get()).values) {
    const service = unitOfLabels(v.labels);
    if (!requests.has(service)) requests.set(service, new Map());
    requests.get(service)!.set(Number(v.labels.status), v.value);
  }
  const buckets = new Map<string, number[]>();
  // Bucket values carry `le` besides the service label (prom-client's type names only the latter).
  const histogram = (await metrics.duration.get()).values
    .filter((v) => v.metricName?.endsWith("_bucket"))
    .map((v) => ({ value: v.value, labels: v.labels as Partial<Record<"service" | "version" | "le", string | number>> }));
  // The bucket bounds as the scrape shows them (`le`), +Inf last.
  const bounds = [...new Set(histogram.map((v) => v.labels.le).filter((le) => le !== "+Inf").map(Number))].sort((a, b) => a - b);
  for (const v of histogram) {
    const service = unitOfLabels(v.labels);
    if (!buckets.has(service)) buckets.set(service, new Array<number>(bounds.length + 1).fill(0));
    const le = v.labels.le === "+Inf" ? bounds.length : bounds.indexOf(Number(v.labels.le));
    if (le >= 0) buckets.get(service)![le] = v.value;
  }
  const gauges = new Map<string, Gauges>();
  const gauge = async (g: { get(): Promise<{ values: { labels: Partial<Record<string, string | number>>; value: number }[] }> }, key: keyof Gauges) => {
    for (const v of (await g.get()).values) {
      const service = unitOfLabels(v.labels);
      if (!gauges.has(service)) gauges.set(service, { ready: 0, desired: 0, utilization: 0, queued: 0 });
      gauges.get(service)![key] = v.value;
    }
  };
  await gauge(metrics.replicasReady, "ready");
  await gauge(metrics.replicasDesired, "desired");
  await gauge(metrics.utilization, "utilization");
  await gauge(metrics.queued, "queued");
  return { counts: { requests, buckets }, gauges, bounds };
}

export interface StatusSamplerOptions {
  /**
   * Each service version's replica restarts and crash loop, read when the page asks (local mode:
   * the supervisor's state, the same `aks-inference state` reads). Without it the rows have none.
   */
  restarts?: (unit: string) => RestartSummary | undefined;
}

/** One sample per second into a ring of 15 minutes. */
export class StatusSampler {
  readonly ring = new Ring<Sample>(RING_SECONDS);
  private readonly decisions = new Ring<ScaleDecision>(DECISIONS_KEPT);
  private prev: Counts | undefined;
  private readonly timer: NodeJS.Timeout;
  private bounds: number[] = [];

  constructor(
    private readonly metrics: RouterMetrics,
    private readonly settings: () => Map<string, ServiceSettingsView>,
    private readonly coordinator: Pick<Coordinator, "isLeader" | "leaderPod">,
    private readonly options: StatusSamplerOptions = {},
  ) {
    this.timer = setInterval(() => void this.sample(), 1_000);
    this.timer.unref();
  }

  /** Takes one sample now (the timer's work; tests call it to step time). */
  async sample(now = Date.now()): Promise<void> {
    const { counts, gauges, bounds } = await read(this.metrics);
    if (bounds.length) this.bounds = bounds;
    // The first second counts from zero: the router's counters start with it.
    this.ring.push(sampleBetween(this.prev, counts, gauges, now));
    this.prev = counts;
  }

  decided(d: ScaleDecision): void {
    this.decisions.push(d);
  }

  json(): StatusJson {
    return {
      at: Date.now(),
      router: { pod: process.env.HOSTNAME ?? "local", leader: this.coordinator.isLeader(), leaderPod: this.coordinator.leaderPod() },
      services: rows(this.ring.toArray(), this.bounds, this.settings(), this.options.restarts),
      decisions: this.decisions.toArray().reverse(),
    };
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * Every answer of the page: it loads only what this router serves (no third-party script, style
 * or font), and no other site may show it in a frame (clickjacking).
 */
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
};

// In the source, not files beside it: the router ships as one bundled file.
const ASSETS: Record<string, { body: string; type: string }> = {
  "/": { body: STATUS_HTML, type: "text/html; charset=utf-8" },
  "/status.css": { body: STATUS_CSS, type: "text/css; charset=utf-8" },
  "/status.js": { body: STATUS_JS, type: "text/javascript; charset=utf-8" },
};

/** Answers the page, its assets and /status.json; false when `pathname` is none of them. */
export function serveStatus(pathname: string, res: http.ServerResponse, sampler: StatusSampler): boolean {
  if (pathname === "/status.json") {
    const body = JSON.stringify(sampler.json());
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", ...PAGE_HEADERS });
    res.end(body);
    return true;
  }
  const asset = ASSETS[pathname];
  if (!asset) return false;
  res.writeHead(200, { "content-type": asset.type, ...PAGE_HEADERS });
  res.end(asset.body);
  return true;
}
