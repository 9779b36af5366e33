/** Prometheus metrics of one router process (`/metrics` on the admin port). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from "prom-client";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { IMPLICIT_VERSION, parseUnit, unitOf } from "../core/decisions/versions";

/** The service and version labels of a unit key (core/decisions/versions.ts): version `default` for a service without versions. */
export function labelsOf(unit: string): { service: string; version: string } {
  const { service, version } = parseUnit(unit);
  return { service, version: version ?? IMPLICIT_VERSION };
}

/** The unit key of a series' service and version labels. */
export function unitOfLabels(labels: Partial<Record<string, string | number>>): string {
  const version = labels.version === undefined ? undefined : String(labels.version);
  return unitOf(String(labels.service), version === IMPLICIT_VERSION ? undefined : version);
}

/**
 * prom-client hashes and checks a series' labels on every `inc`/`observe`, `labels(...)` children
 * included (a few per cent of the router's CPU per request). The series below are updated in
 * place instead: each keeps the record prom-client itself stores for the series (found once, when
 * the series is first used), so `/metrics`, `get()` and prom-client's own `inc`/`observe` see
 * exactly what they would have seen. prom-client does not document that store (`hashMap`):
 * test/router/metricsText.test.ts compares the text with prom-client's own path, so an upgrade that
 * changes it fails there. The router never resets or removes these series (that would detach them).
 */
interface SeriesRecord {
  labels: LabelValues<string>;
}
interface CounterRecord extends SeriesRecord {
  value: number;
}
interface HistogramRecord extends SeriesRecord {
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** The record prom-client keeps for the series `labels` of `metric`, created by `create` when it has none. */
function recordOf<R extends SeriesRecord>(metric: Counter | Histogram, labels: LabelValues<string>, create: () => void): R {
  const store = () => (metric as unknown as { hashMap: Record<string, R> }).hashMap;
  const keys = Object.keys(labels);
  const find = () => Object.values(store()).find((r) => Object.keys(r.labels).length === keys.length && keys.every((k) => r.labels[k] === labels[k]));
  let record = find();
  if (!record) {
    create();
    record = find();
  }
  if (!record) throw new Error(`prom-client keeps no record of series ${JSON.stringify(labels)} where router/metrics.ts expects it (its internals changed)`);
  return record;
}

/** One series of a counter, incremented without label work. */
class CounterSeries {
  private readonly record: CounterRecord;
  constructor(counter: Counter, labels: LabelValues<string>) {
    // Created at 0 by prom-client itself, as its first `inc` would (same labels, same place in the text).
    this.record = recordOf(counter, labels, () => counter.inc(labels, 0));
  }
  inc(): void {
    this.record.value += 1;
  }
}

/** One series of a histogram, observed without label work; `bounds` are the histogram's buckets. */
class HistogramSeries {
  private readonly record: HistogramRecord;
  /** The buckets' keys in the record (prom-client keys them by the bound as a string). */
  private readonly keys: string[];
  constructor(
    histogram: Histogram,
    labels: LabelValues<string>,
    private readonly bounds: readonly number[],
  ) {
    this.record = recordOf(histogram, labels, () => histogram.zero(labels));
    this.keys = bounds.map(String);
  }
  /** prom-client's `observe`: the first bucket whose bound is at least `value` (none above the last: +Inf only), the sum and the count. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.record.bucketValues[this.keys[i]] += 1;
    this.record.sum += value;
    this.record.count += 1;
  }
}

/**
 * The latency a service's p99 should stay under, as a share of its scoring timeout: no setting
 * names one, and past half the timeout the slowest requests are closing in on 504s.
 */
export const LATENCY_OBJECTIVE_SHARE_OF_TIMEOUT = 0.5;

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: "aksinf_router_requests_total", help: "Requests by service and status code", labelNames: ["service", "version", "status"], registers: [this.registry] });
  readonly duration = new Histogram({
    name: "aksinf_router_request_duration_seconds",
    help: "Time from request to response end, by service and version",
    labelNames: ["service", "version"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  /** The router's own work per request (everything but waiting for the replica): self-scaling's input. */
  readonly overhead = new Histogram({
    name: "aksinf_router_overhead_seconds",
    help: "Routing time added by the router (queue wait excluded)",
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });
  readonly replicasReady = new Gauge({ name: "aksinf_router_replicas_ready", help: "Ready replicas by service", labelNames: ["service", "version"], registers: [this.registry] });
  readonly replicasDesired = new Gauge({ name: "aksinf_router_replicas_desired", help: "Replicas the autoscaler wants, by service", labelNames: ["service", "version"], registers: [this.registry] });
  readonly utilization = new Gauge({ name: "aksinf_router_utilization_percent", help: "Autoscaler utilization (busy + queued per replica), by service", labelNames: ["service", "version"], registers: [this.registry] });
  readonly queued = new Gauge({ name: "aksinf_router_queued_requests", help: "Requests waiting for a free replica, by service", labelNames: ["service", "version"], registers: [this.registry] });
  readonly connectionsOpen = new Gauge({ name: "aksinf_router_connections_open", help: "Open client connections on the public port", registers: [this.registry] });
  readonly connectionsRefused = new Counter({ name: "aksinf_router_connections_refused_total", help: "Client connections refused at the connection cap", registers: [this.registry] });
  readonly mirrored = new Counter({
    name: "aksinf_router_mirrored_requests_total",
    help: "Copies of requests sent to a service's mirror version, by outcome (answered, failed, busy: no free mirror replica, too_large: body over 1 MiB)",
    labelNames: ["service", "version", "outcome"],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({ name: "aksinf_router_auth_failures_total", help: "Failed authentications, by service and reason (missing, key, token)", labelNames: ["service", "reason"], registers: [this.registry] });
  /** Read at each scrape from the router's body budget (bodyBufferSource). */
  bodyBufferSource: () => number = () => 0;
  readonly bodyBufferBytes: Gauge = new Gauge({
    name: "aksinf_router_body_buffer_bytes",
    help: "Memory held by request bodies buffered before a replica slot is taken",
    registers: [this.registry],
    collect: (): void => this.bodyBufferBytes.set(this.bodyBufferSource()),
  });

  // What the alert rules (monitoring/alerts.yaml) compare the series above with.
  readonly replicasMin = new Gauge({
    name: "aksinf_router_replicas_min",
    help: "Replicas a service keeps at least (autoscaleMinReplicas, or its fixed count without autoscaling), by service",
    labelNames: ["service", "version"],
    registers: [this.registry],
  });
  readonly replicasMax = new Gauge({
    name: "aksinf_router_replicas_max",
    help: "Replicas the autoscaler may reach (autoscaleMaxReplicas, or the fixed count without autoscaling), by service",
    labelNames: ["service", "version"],
    registers: [this.registry],
  });
  readonly utilizationTarget = new Gauge({ name: "aksinf_router_utilization_target_percent", help: "Autoscaler target utilization (autoscaleTargetUtilization), by service", labelNames: ["service", "version"], registers: [this.registry] });
  readonly latencyObjective = new Gauge({
    name: "aksinf_router_latency_objective_seconds",
    help: "Latency the service's p99 should stay under: half its scoring timeout, by service",
    labelNames: ["service", "version"],
    registers: [this.registry],
  });
  /** Only the leader sets the replica gauges: a pod that lost the Lease keeps its last values, which this tells apart. */
  readonly leader = new Gauge({ name: "aksinf_router_leader", help: "1 on the router pod that autoscales (its replica gauges are current), 0 on the others", registers: [this.registry] });
  readonly selfScalingAtCeiling = new Gauge({
    name: "aksinf_router_self_scaling_at_ceiling",
    help: "1 while routing is slower than the self-scaling threshold and the router cannot grow (largest CPU step and most pods, or no free cluster CPU), else 0; set by the leader",
    registers: [this.registry],
  });

  private readonly perUnit = new Map<string, { duration: HistogramSeries; statuses: Map<number, CounterSeries> }>();
  private readonly overheadSeries: HistogramSeries;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "aksinf_router_" });
    this.overheadSeries = new HistogramSeries(this.overhead, {}, OVERHEAD_BUCKETS);
  }

  /** Records one finished request of a service version, by unit key (series kept per unit and status: this runs on every request). */
  request(unit: string, status: number, seconds: number): void {
    let m = this.perUnit.get(unit);
    if (!m) {
      m = { duration: new HistogramSeries(this.duration, labelsOf(unit), DURATION_BUCKETS), statuses: new Map() };
      this.perUnit.set(unit, m);
    }
    let counter = m.statuses.get(status);
    if (!counter) {
      counter = new CounterSeries(this.requests, { ...labelsOf(unit), status: String(status) });
      m.statuses.set(status, counter);
    }
    counter.inc();
    m.duration.observe(seconds);
  }

  /** Publishes the settings a service version is held to (min, max, target, latency objective), by unit key. */
  publishSettings(unit: string, s: ServiceRoutingSettings): void {
    const labels = labelsOf(unit);
    this.replicasMin.set(labels, s.autoscale.minReplicas);
    this.replicasMax.set(labels, s.autoscale.maxReplicas);
    this.utilizationTarget.set(labels, s.autoscale.targetUtilization);
    this.latencyObjective.set(labels, (s.scoringTimeoutMs * LATENCY_OBJECTIVE_SHARE_OF_TIMEOUT) / 1000);
  }

  /**
   * Removes every gauge of a unit the router no longer serves: its last values would otherwise
   * stay in /metrics, and alerts on them keep firing, until the pod restarts. Its request counters
   * stay (they are cumulative, and the fast path holds their records).
   */
  forgetUnit(unit: string): void {
    const labels = labelsOf(unit);
    for (const g of [this.replicasReady, this.replicasDesired, this.utilization, this.queued, this.replicasMin, this.replicasMax, this.utilizationTarget, this.latencyObjective]) g.remove(labels);
  }

  /** `overhead.observe(seconds)` without prom-client's per-call label work: once per forwarded request. */
  routingOverhead(seconds: number): void {
    this.overheadSeries.observe(seconds);
  }
}
