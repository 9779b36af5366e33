/** Prometheus metrics of one router process (`/metrics` on the admin port). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class RouterMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: "aksinf_router_requests_total", help: "Requests by service and status code", labelNames: ["service", "status"], registers: [this.registry] });
  readonly duration = new Histogram({
    name: "aksinf_router_request_duration_seconds",
    help: "Time from request to response end, by service",
    labelNames: ["service"],
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
  readonly replicasReady = new Gauge({ name: "aksinf_router_replicas_ready", help: "Ready replicas by service", labelNames: ["service"], registers: [this.registry] });
  readonly replicasDesired = new Gauge({ name: "aksinf_router_replicas_desired", help: "Replicas the autoscaler wants, by service", labelNames: ["service"], registers: [this.registry] });
  readonly utilization = new Gauge({ name: "aksinf_router_utilization_percent", help: "Autoscaler utilization (busy + queued per replica), by service", labelNames: ["service"], registers: [this.registry] });
  readonly queued = new Gauge({ name: "aksinf_router_queued_requests", help: "Requests waiting for a free replica, by service", labelNames: ["service"], registers: [this.registry] });
  readonly connectionsOpen = new Gauge({ name: "aksinf_router_connections_open", help: "Open client connections on the public port", registers: [this.registry] });
  readonly connectionsRefused = new Counter({ name: "aksinf_router_connections_refused_total", help: "Client connections refused at the connection cap", registers: [this.registry] });
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

  /** Records one finished request (label children cached: this runs on every request). */
  request(service: string, status: number, seconds: number): void {
    let m = this.perService.get(service);
    if (!m) {
      m = { duration: this.duration.labels({ service }), statuses: new Map() };
      this.perService.set(service, m);
    }
    let counter = m.statuses.get(status);
    if (!counter) {
      counter = this.requests.labels({ service, status: String(status) });
      m.statuses.set(status, counter);
    }
    counter.inc();
    m.duration.observe(seconds);
  }
}
