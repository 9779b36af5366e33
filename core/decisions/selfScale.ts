/**
 * The router's self-scaling (as in Azure ML v1): scale *up* (more CPU per pod) when routing takes longer
 * than a threshold, then *out* (more pods) if it still does; scale *down* (less CPU), then *in*
 * (fewer pods), when CPU use is low. Only within free cluster capacity; off for DevTest.
 */

export interface SelfScaleLimits {
  /** CPU cores per router pod: the steps it moves between, e.g. [0.5, 1, 1.25]. */
  cpuSteps: number[];
  minReplicas: number;
  maxReplicas: number;
  /** Routing time (ms, p95 of the router's own work) above which it scales up/out. */
  latencyThresholdMs: number;
  /** CPU use (fraction of the pod's cores) below which it scales down/in. */
  lowCpu: number;
  /** Time between two changes: each one restarts pods, which must settle first. */
  cooldownMs: number;
}

export const DEFAULT_SELF_SCALE_LIMITS: SelfScaleLimits = {
  // The router forwards on one event loop; V8's helper threads add 1–18 % (measured under load,
  // bench/router-overhead setup). A pod can therefore use about 1.2 cores: steps beyond that
  // would spend cluster CPU and a cooldown each without routing faster, so it scales out instead.
  cpuSteps: [0.5, 1, 1.25],
  minReplicas: 2,
  maxReplicas: 10,
  latencyThresholdMs: 10,
  lowCpu: 0.3,
  cooldownMs: 5 * 60_000,
};

export interface SelfScaleObservation {
  enabled: boolean;
  routingP95Ms: number;
  /**
   * CPU use of a router pod, as a fraction of its cores: the leader's own, which stands for every
   * pod's because the router Service spreads connections evenly over them.
   */
  cpuUtilization: number;
  cpu: number;
  replicas: number;
  /** CPU cores the cluster could still schedule. */
  freeClusterCpu: number;
  now: number;
  lastChangeAt?: number;
}

export type SelfScaleAction = "none" | "up" | "out" | "down" | "in";

export interface SelfScaleDecision {
  action: SelfScaleAction;
  cpu: number;
  replicas: number;
  reason: string;
}

export function decideSelfScale(o: SelfScaleObservation, limits: SelfScaleLimits = DEFAULT_SELF_SCALE_LIMITS): SelfScaleDecision {
  const keep = (reason: string): SelfScaleDecision => ({ action: "none", cpu: o.cpu, replicas: o.replicas, reason });
  if (!o.enabled) return keep("self-scaling is off (DevTest cluster or disabled in config)");
  if (o.lastChangeAt !== undefined && o.now - o.lastChangeAt < limits.cooldownMs) return keep("cooling down after the last change");
  const steps = [...limits.cpuSteps].sort((a, b) => a - b);
  const idx = steps.findIndex((s) => s >= o.cpu);
  // Reading past either end of the steps gives undefined: no step above the largest, none below
  // the smallest (nor below a size above every step, idx -1).
  const next: number | undefined = idx >= 0 ? steps[idx + 1] : undefined;
  const prev: number | undefined = steps[idx - 1];

  if (o.routingP95Ms > limits.latencyThresholdMs) {
    // Up first: more cores per pod, which needs (next - cpu) per pod of free capacity.
    if (next !== undefined && (next - o.cpu) * o.replicas <= o.freeClusterCpu) {
      return { action: "up", cpu: next, replicas: o.replicas, reason: `routing p95 ${o.routingP95Ms} ms > ${limits.latencyThresholdMs} ms` };
    }
    if (o.replicas < limits.maxReplicas && o.cpu <= o.freeClusterCpu) {
      return { action: "out", cpu: o.cpu, replicas: o.replicas + 1, reason: `routing p95 ${o.routingP95Ms} ms > ${limits.latencyThresholdMs} ms at ${o.cpu} cores per pod` };
    }
    return keep("routing is slow but the cluster has no free capacity (the router never adds nodes)");
  }
  if (o.cpuUtilization < limits.lowCpu) {
    if (prev !== undefined) return { action: "down", cpu: prev, replicas: o.replicas, reason: `CPU ${(o.cpuUtilization * 100).toFixed(0)}% < ${limits.lowCpu * 100}%` };
    if (o.replicas > limits.minReplicas) return { action: "in", cpu: o.cpu, replicas: o.replicas - 1, reason: `CPU ${(o.cpuUtilization * 100).toFixed(0)}% < ${limits.lowCpu * 100}% at the smallest pod size` };
  }
  return keep("within thresholds");
}
