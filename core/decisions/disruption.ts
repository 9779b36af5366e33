/**
 * Node upgrades and drains against model services: which Deployments get a
 * PodDisruptionBudget and a topology spread, and what those are. Pure, shared by the component
 * and its tests.
 */
import type { ModelVersionConfig } from "../config";

/** Whether a version's Deployment can run more than one replica: fixed numReplicas > 1, or autoscaling up to more than one. */
export function mayRunSeveralReplicas(v: Pick<ModelVersionConfig, "autoscaleEnabled" | "autoscaleMaxReplicas" | "initialReplicas">): boolean {
  return v.autoscaleEnabled ? v.autoscaleMaxReplicas > 1 : v.initialReplicas > 1;
}

/**
 * Spread of one Deployment's pods: over nodes, and over zones on a zonal cluster. Soft
 * (ScheduleAnyway): a pod that cannot be spread (one node, a full zone, a GPU pool in fewer zones)
 * is still scheduled rather than left pending.
 */
export function topologySpread(matchLabels: Record<string, string>, zonal: boolean) {
  const keys = ["kubernetes.io/hostname", ...(zonal ? ["topology.kubernetes.io/zone"] : [])];
  return keys.map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels } }));
}
