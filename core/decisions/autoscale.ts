/**
 * Model autoscaling, as the router does it (never a Kubernetes HPA): pure decisions over time,
 * and Azure ML v1's replica sizing formula.
 *
 * utilization = (busy replicas + queued requests expressed in replicas) / total replicas.
 * Counting queued demand (as azureml-fe v2 does) keeps a saturated service from looking merely
 * "100 % busy" and never growing past what is needed to drain its queue.
 */
import type { AutoscaleSettings } from "../contracts/routingSettings";

/** Scale up once utilization has been above target this long (Azure ML v1: decisions within ~1 s). */
export const SCALE_UP_DELAY_MS = 1_000;
/** Scale down only after utilization has stayed below target this long (Azure ML v1: ~1 min). */
export const SCALE_DOWN_DELAY_MS = 60_000;

export interface LoadSample {
  /** Replicas currently ready (serving). */
  readyReplicas: number;
  /** Requests in flight at replicas, summed over all router pods. */
  inFlight: number;
  /** Requests waiting in router queues, summed over all router pods. */
  queued: number;
  /** Concurrent requests one replica takes. */
  maxConcurrentPerReplica: number;
}

/** Memory of one service's autoscaler between decisions. */
export interface AutoscalerState {
  desired: number;
  /** Since when utilization has been above target (undefined: it is not). */
  aboveSince?: number;
  /** Since when utilization has been below target. */
  belowSince?: number;
}

export interface Decision {
  state: AutoscalerState;
  /** Utilization in percent (may exceed 100 when requests queue). */
  utilization: number;
  /** Set when the desired replica count changed with this sample. */
  change?: { from: number; to: number; reason: string };
}

export interface DecisionOptions {
  scaleUpDelayMs?: number;
  scaleDownDelayMs?: number;
}

export function initialState(settings: AutoscaleSettings, current: number): AutoscalerState {
  return { desired: clamp(current, settings.minReplicas, settings.maxReplicas) };
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

/** Busy-replica equivalents per replica, in percent. */
export function utilizationPercent(s: LoadSample, replicas: number): number {
  if (replicas <= 0) return s.inFlight + s.queued > 0 ? Infinity : 0;
  return ((s.inFlight + s.queued) / s.maxConcurrentPerReplica / replicas) * 100;
}

/**
 * Replicas that bring utilization back to the target: ceil(demand / perReplica / target).
 */
export function replicasForDemand(s: LoadSample, targetUtilization: number): number {
  return Math.ceil((s.inFlight + s.queued) / s.maxConcurrentPerReplica / (targetUtilization / 100));
}

/**
 * One autoscaler step. Above target: after `scaleUpDelayMs`, grow at once to what the demand
 * needs (eager). Below target: after `scaleDownDelayMs` of continuous low load, shrink by what
 * the demand allows, but at most halve in one step (conservative). Always within min/max.
 */
export function decide(settings: AutoscaleSettings, prev: AutoscalerState, sample: LoadSample, now: number, opts: DecisionOptions = {}): Decision {
  const upDelay = opts.scaleUpDelayMs ?? SCALE_UP_DELAY_MS;
  const downDelay = opts.scaleDownDelayMs ?? SCALE_DOWN_DELAY_MS;
  // Utilization is measured against what is desired, not only what is ready: replicas still
  // starting are already on their way and must not trigger another scale-up.
  const base = Math.max(prev.desired, sample.readyReplicas, 1);
  const utilization = utilizationPercent(sample, base);
  const target = settings.targetUtilization;
  const state: AutoscalerState = { desired: clamp(prev.desired, settings.minReplicas, settings.maxReplicas) };
  if (!settings.enabled) return { state, utilization };

  if (utilization > target) {
    state.aboveSince = prev.aboveSince ?? now;
    if (now - state.aboveSince >= upDelay) {
      // Stryker disable next-line ArithmeticOperator: equivalent in exact arithmetic (above target, the demand already needs more than desired); kept so float rounding can never stall a scale-up
      const to = clamp(Math.max(replicasForDemand(sample, target), state.desired + 1), settings.minReplicas, settings.maxReplicas);
      if (to > state.desired) {
        const from = state.desired;
        state.desired = to;
        state.aboveSince = undefined;
        return { state, utilization, change: { from, to, reason: `utilization ${utilization.toFixed(0)}% above target ${target}%` } };
      }
    }
  } else if (utilization < target) {
    state.belowSince = prev.belowSince ?? now;
    if (now - state.belowSince >= downDelay) {
      const needed = Math.max(replicasForDemand(sample, target), Math.ceil(state.desired / 2));
      const to = clamp(needed, settings.minReplicas, settings.maxReplicas);
      if (to < state.desired) {
        const from = state.desired;
        state.desired = to;
        state.belowSince = undefined;
        return { state, utilization, change: { from, to, reason: `utilization ${utilization.toFixed(0)}% below target ${target}% for ${Math.round(downDelay / 1000)} s` } };
      }
    }
  }
  return { state, utilization };
}

export interface SizingInput {
  /** Requests per second the service must sustain. */
  targetRps: number;
  /** Seconds one request takes. */
  requestSeconds: number;
  /** Target utilization, as a fraction (0.7) or a percent (70). */
  targetUtilization: number;
  maxConcurrentRequestsPerContainer: number;
}

/**
 * Azure ML v1's sizing formula: replicas = ceil(targetRps × requestSeconds / targetUtilization /
 * maxConcurrentRequestsPerContainer). Azure ML v1's example: 20 × 10 / 0.7 / 1 → 286.
 */
export function replicasFor(input: SizingInput): number {
  const { targetRps, requestSeconds, maxConcurrentRequestsPerContainer } = input;
  const target = input.targetUtilization > 1 ? input.targetUtilization / 100 : input.targetUtilization;
  for (const [key, v] of Object.entries({ targetRps, requestSeconds, targetUtilization: target, maxConcurrentRequestsPerContainer })) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${key} must be a positive number (got ${v})`);
  }
  if (target > 1) throw new RangeError(`targetUtilization must be at most 100 % (got ${input.targetUtilization})`);
  // Round away floating-point noise first so that exact products (e.g. 200/0.7/1) do not gain a replica.
  return Math.ceil(Number(((targetRps * requestSeconds) / target / maxConcurrentRequestsPerContainer).toFixed(9)));
}
