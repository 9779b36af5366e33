/** Prometheus metrics of one router process (`/metrics` on the admin port). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { IMPLICIT_VERSION, parseUnit, unitOf } from "../core/versions";

/** The service and version labels of a unit key (core/versions.ts): version `default` for a service without versions. */
export function labelsOf(unit: string): { service: string; version: string } {
  const { service, version } = parseUnit(unit);
  return { service, version: version ?? IMPLICIT_VERSION };
}

/** The unit key of a series' service and version labels. */
export function unitOfLabels(labels: Partial<Record<string, string | number>>): string {
  const version = labels.version === undefined ? undefined : String(labels.version);
  return unitOf(String(labels.service), version === IMPLICIT_VERSION ? undefined : version);
}

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: "aksinf_router_requests_total", help: "Requests by service and status code", labelNames: ["service", "version", "status"], registers: [this.registry] });
  readonly duration = new Histogram({
    name: "aksinf_router_request_duration_seconds",
    help: "Time from request to response end, by service and version",
    labelNames: ["service", "version"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  /** The router's own work per request (everything but waiting for the replica): self-scaling's input. */
  readonly overhead = new Histogram({
    name: "aksinf_router_overhead_seconds",
    help: "Routing time added by the router (queue wait excluded)",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
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

  private readonly perService = new Map<string, { duration: ReturnType<Histogram["labels"]>; statuses: Map<number, ReturnType<Counter["labels"]>> }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "aksinf_router_" });
  }

  /** Records one finished request of a service version, by unit key (label children cached: this runs on every request). */
  request(unit: string, status: number, seconds: number): void {
    let m = this.perService.get(unit);
    if (!m) {
      m = { duration: this.duration.labels(labelsOf(unit)), statuses: new Map() };
      this.perService.set(unit, m);
    }
    let counter = m.statuses.get(status);
    if (!counter) {
      counter = this.requests.labels({ ...labelsOf(unit), status: String(status) });
      m.statuses.set(status, counter);
    }
    counter.inc();
    m.duration.observe(seconds);
  }
}
