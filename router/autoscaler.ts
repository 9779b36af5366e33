/**
 * Runs the model autoscaler (core/decisions/autoscale.ts) for every service with autoscaling on: on the
 * leader router pod, several times a second, from the load all router pods report, writing
 * changes through the Scaler. Never an HPA, never beyond the service's min/max.
 */
import type { Logger } from "pino";
import { decide, initialState, type AutoscalerState, type DecisionOptions } from "../core/decisions/autoscale";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import type { ServiceBalancer } from "./balancer";
import { labelsOf, type RouterMetrics } from "./metrics";
import type { Coordinator, Scaler, ServiceLoad } from "./types";

export interface AutoscalerOptions extends DecisionOptions {
  /** How often to decide; 0 disables the timer (tests call `tick()`). Default 250 ms. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Told of each change decided, as it is written (the status page lists the last ones). */
  onDecision?: (decision: ScaleDecision) => void;
}

/** One change of a service's replica count and why. */
export interface ScaleDecision {
  service: string;
  from: number;
  to: number;
  reason: string;
  /** Unix ms. */
  at: number;
}

export class Autoscaler {
  private readonly states = new Map<string, AutoscalerState>();
  private readonly timer?: NodeJS.Timeout;
  private ticking = false;
  /** The settings each unit's gauges show (to publish only what changed), and the units to forget when discovery drops them. */
  private readonly published = new Map<string, ServiceRoutingSettings>();
  private readonly now: () => number;

  constructor(
    private readonly balancers: ReadonlyMap<string, ServiceBalancer>,
    private readonly scaler: Scaler,
    private readonly coordinator: Coordinator,
    private readonly metrics: RouterMetrics,
    private readonly log: Logger,
    private readonly opts: AutoscalerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    const interval = opts.intervalMs ?? 250;
    if (interval > 0) {
      this.timer = setInterval(() => void this.tick(), interval);
      this.timer.unref();
    }
  }

  /** Desired replicas per service as last decided. */
  desired(service: string): number | undefined {
    return this.states.get(service)?.desired;
  }

  localLoad(): Record<string, ServiceLoad> {
    const out: Record<string, ServiceLoad> = {};
    for (const [name, b] of this.balancers) out[name] = b.load();
    return out;
  }

  /** One round of decisions; overlapping rounds are skipped. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const local = this.localLoad();
      for (const [name, load] of Object.entries(local)) this.metrics.queued.set(labelsOf(name), load.queued);
      // Every pod publishes the settings and whether it leads; the alert rules read the leader's replica counts.
      for (const [name, b] of this.balancers) {
        if (this.published.get(name) === b.settings) continue;
        this.metrics.publishSettings(name, b.settings);
        this.published.set(name, b.settings);
      }
      for (const name of this.published.keys()) {
        if (this.balancers.has(name)) continue;
        this.metrics.forgetUnit(name);
        this.published.delete(name);
      }
      const leader = this.coordinator.isLeader();
      this.metrics.leader.set(leader ? 1 : 0);
      if (!leader) return;
      const total = await this.coordinator.collect(local);
      const now = this.now();
      for (const [name, b] of this.balancers) {
        const settings = b.settings.autoscale;
        const ready = b.readyReplicas();
        this.metrics.replicasReady.set(labelsOf(name), ready);
        if (!settings.enabled) continue;
        const prev = this.states.get(name) ?? initialState(settings, Math.max(ready, settings.minReplicas));
        const load = total[name] ?? { inFlight: 0, queued: 0 };
        const d = decide(settings, prev, { readyReplicas: ready, ...load, maxConcurrentPerReplica: b.settings.maxConcurrentRequestsPerReplica }, now, this.opts);
        this.states.set(name, d.state);
        this.metrics.utilization.set(labelsOf(name), Number.isFinite(d.utilization) ? d.utilization : 100);
        this.metrics.replicasDesired.set(labelsOf(name), d.state.desired);
        if (d.change) {
          this.log.info({ service: name, from: d.change.from, to: d.change.to, reason: d.change.reason }, "autoscale");
          this.opts.onDecision?.({ service: name, ...d.change, at: now });
          try {
            await this.scaler.setReplicas(name, d.change.to);
          } catch (err) {
            // Forget the change so the next round tries again.
            this.states.set(name, prev);
            this.log.error({ service: name, err: (err as Error).message }, "autoscale: could not set replicas");
          }
        }
      }
      for (const name of this.states.keys()) if (!this.balancers.has(name)) this.states.delete(name);
    } finally {
      this.ticking = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
