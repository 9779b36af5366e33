/**
 * The router scaling itself (as Azure ML v1 does it, FastProd/DenseProd only): the leader pod periodically
 * feeds its observed routing time and CPU use into `decideSelfScale` and applies the decision
 * to the router's own Deployment (more CPU per pod means a rolling restart, which the PDB and
 * graceful drain make invisible to clients).
 */
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { DEFAULT_SELF_SCALE_LIMITS, decideSelfScale, type SelfScaleLimits } from "../core/decisions/selfScale";
import { ROUTER_NAME } from "../core/contracts/naming";
import type { RouterMetrics } from "./metrics";
import type { Coordinator } from "./types";

/** Reads and writes the router's own size. */
export interface RouterSize {
  current(): Promise<{ cpu: number; replicas: number }>;
  /** CPU cores the cluster could still schedule. */
  freeCpu(): Promise<number>;
  apply(cpu: number, replicas: number): Promise<void>;
}

/** Parses a Kubernetes CPU quantity ("500m", "2") into cores. */
export function cpuCores(quantity: string | undefined): number {
  if (!quantity) return 0;
  return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

export class KubernetesRouterSize implements RouterSize {
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  constructor(kc: k8s.KubeConfig, private readonly namespace: string) {
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }
  async current(): Promise<{ cpu: number; replicas: number }> {
    const d = await this.apps.readNamespacedDeployment({ name: ROUTER_NAME, namespace: this.namespace });
    return { cpu: cpuCores(d.spec?.template.spec?.containers[0]?.resources?.requests?.cpu), replicas: d.spec?.replicas ?? 1 };
  }
  async freeCpu(): Promise<number> {
    const [nodes, pods] = await Promise.all([this.core.listNode(), this.core.listPodForAllNamespaces({ fieldSelector: "status.phase=Running" })]);
    const allocatable = nodes.items.reduce((sum, n) => sum + cpuCores(n.status?.allocatable?.cpu), 0);
    const requested = pods.items.reduce((sum, p) => sum + (p.spec?.containers ?? []).reduce((s, c) => s + cpuCores(c.resources?.requests?.cpu), 0), 0);
    return Math.max(0, allocatable - requested);
  }
  async apply(cpu: number, replicas: number): Promise<void> {
    const millis = `${Math.round(cpu * 1000)}m`;
    await this.apps.patchNamespacedDeployment(
      {
        name: ROUTER_NAME,
        namespace: this.namespace,
        body: { spec: { replicas, template: { spec: { containers: [{ name: "router", resources: { requests: { cpu: millis }, limits: { cpu: millis } } }] } } } },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
    );
  }
}

/** Where time and this process's CPU use come from (tests give their own). */
export interface SelfScalerClock {
  /** Milliseconds. */
  now(): number;
  /** CPU time this process has used, in microseconds (user + system). */
  cpuMicros(): number;
}

const PROCESS_CLOCK: SelfScalerClock = {
  now: () => Date.now(),
  cpuMicros: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
};

export class SelfScaler {
  private readonly timer: NodeJS.Timeout;
  private lastChangeAt?: number;
  private lastCpu: number;
  private lastAt: number;
  private readonly clock: SelfScalerClock;

  constructor(
    private readonly size: RouterSize,
    private readonly coordinator: Coordinator,
    private readonly metrics: RouterMetrics,
    private readonly log: Logger,
    private readonly limits: SelfScaleLimits = DEFAULT_SELF_SCALE_LIMITS,
    opts: { intervalMs?: number; clock?: SelfScalerClock } = {},
  ) {
    this.clock = opts.clock ?? PROCESS_CLOCK;
    this.lastCpu = this.clock.cpuMicros();
    this.lastAt = this.clock.now();
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.log.warn({ err: String(err) }, "self-scaling round failed")), opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /** p95 of the router's own overhead from its histogram, in ms. */
  private async routingP95Ms(): Promise<number> {
    const metric = await this.metrics.overhead.get();
    // Stryker disable next-line MethodExpression,StringLiteral: equivalent, prom-client lists the buckets before _sum and _count, so the +Inf bucket is always found first
    const buckets = metric.values.filter((v) => v.metricName?.endsWith("_bucket"));
    const total = buckets.find((b) => b.labels.le === "+Inf")?.value ?? 0;
    if (total === 0) return 0;
    const hit = buckets.find((b) => b.value >= total * 0.95);
    return hit && hit.labels.le !== "+Inf" ? Number(hit.labels.le) * 1000 : Infinity;
  }

  /**
   * One round. CPU use is this (the leader's) process over the last round: the router Service
   * spreads connections evenly over the pods, so one pod's share stands for each pod's.
   */
  async tick(): Promise<void> {
    const now = this.clock.now();
    const cpuMicros = this.clock.cpuMicros();
    const usedMs = (cpuMicros - this.lastCpu) / 1000;
    const elapsedMs = now - this.lastAt;
    this.lastCpu = cpuMicros;
    this.lastAt = now;
    if (!this.coordinator.isLeader()) {
      // The leader's value is the router's; a pod that lost the Lease must not keep reporting a ceiling.
      this.metrics.selfScalingAtCeiling.set(0);
      return;
    }
    const { cpu, replicas } = await this.size.current();
    const cpuUtilization = cpu > 0 && elapsedMs > 0 ? usedMs / elapsedMs / cpu : 0;
    const observation = { enabled: true, routingP95Ms: await this.routingP95Ms(), cpuUtilization, cpu, replicas, freeClusterCpu: await this.size.freeCpu(), now, lastChangeAt: this.lastChangeAt };
    const d = decideSelfScale(observation, this.limits);
    // At the ceiling: routing is too slow and, cooldown or not, no step up or out is possible.
    const stuck = observation.routingP95Ms > this.limits.latencyThresholdMs && decideSelfScale({ ...observation, lastChangeAt: undefined }, this.limits).action === "none";
    this.metrics.selfScalingAtCeiling.set(stuck ? 1 : 0);
    if (d.action === "none") return;
    this.log.info({ action: d.action, cpu: d.cpu, replicas: d.replicas, reason: d.reason }, "router self-scaling");
    await this.size.apply(d.cpu, d.replicas);
    this.lastChangeAt = now;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
