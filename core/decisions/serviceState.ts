/**
 * A model service's state from its replicas (Transitioning / Healthy / Unhealthy / Failed, as
 * Azure ML v1's `state`), the same rules for local mode's supervisor and the CLI on a cluster.
 */
import type { LastExit } from "./crashLoop";
import type { ComputeProvider } from "./gpu";

export type ReplicaStatus = "starting" | "ready" | "stopping" | "crashed" | "failed";
export type ServiceState = "Transitioning" | "Healthy" | "Unhealthy" | "Failed";

export interface ReplicaInfo {
  id: string;
  url: string;
  status: ReplicaStatus;
  startedAt: string;
  reason?: string;
  /** GPU services: the compute the ready replica got (`cuda`, or `cpu` with gpuFallbackToCpu). */
  gpu?: ComputeProvider;
  /** Times its process was restarted after exiting (Kubernetes: the container's restartCount). */
  restarts: number;
  /** How its previous process ended. */
  lastExit?: LastExit;
  /** In a crash loop (core/decisions/crashLoop.ts); `reason` then says `CrashLoopBackOff (...)`. */
  crashLoop?: boolean;
}

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  desired: number;
  ready: number;
  replicas: ReplicaInfo[];
  /** Why the service is not Healthy, when known. */
  reason?: string;
}

/**
 * The state of a service from its replicas: the same rules the CLI applies on a cluster. A
 * replica in a crash loop makes it Unhealthy even in the seconds the replica is ready between
 * crashes.
 */
export function serviceState(desired: number, replicas: Pick<ReplicaInfo, "status" | "reason" | "crashLoop">[]): { state: ServiceState; reason?: string } {
  const ready = replicas.filter((r) => r.status === "ready").length;
  const failed = replicas.find((r) => r.status === "failed");
  if (failed && ready === 0) return { state: "Failed", reason: failed.reason };
  const looping = replicas.find((r) => r.crashLoop);
  if (looping) return { state: "Unhealthy", reason: looping.reason };
  if (desired > 0 && ready >= desired) return { state: "Healthy" };
  if (replicas.some((r) => r.status === "starting")) return { state: "Transitioning", reason: `${ready}/${desired} replicas ready` };
  const crashed = replicas.find((r) => r.status === "crashed" || r.status === "failed");
  return { state: "Unhealthy", reason: crashed?.reason ?? `${ready}/${desired} replicas ready` };
}

/** What the status page adds to a service's row: its replicas' restarts and crash loop, if any. */
export interface RestartSummary {
  restarts: number;
  /** The first looping replica's `CrashLoopBackOff (...)`. */
  crashLoop?: string;
}

export function restartSummary(replicas: readonly Pick<ReplicaInfo, "restarts" | "crashLoop" | "reason">[]): RestartSummary {
  const looping = replicas.find((r) => r.crashLoop);
  return { restarts: replicas.reduce((n, r) => n + r.restarts, 0), ...(looping?.reason ? { crashLoop: looping.reason } : {}) };
}

/** One version of a service with its share of traffic, as `state` shows it. */
export interface VersionStatus extends ServiceStatus {
  version: string;
  traffic: number;
  mirrorPercent: number;
}

const SEVERITY: ServiceState[] = ["Healthy", "Transitioning", "Unhealthy", "Failed"];

/**
 * A service with versions: its replicas and counts are its versions' together; its state is the
 * worst of theirs, with that version named in the reason.
 */
export function combineVersions(name: string, versions: VersionStatus[]): ServiceStatus & { versions: VersionStatus[] } {
  const worst = versions.reduce<VersionStatus | undefined>((w, v) => (!w || SEVERITY.indexOf(v.state) > SEVERITY.indexOf(w.state) ? v : w), undefined);
  return {
    name,
    state: worst?.state ?? "Failed",
    desired: versions.reduce((n, v) => n + v.desired, 0),
    ready: versions.reduce((n, v) => n + v.ready, 0),
    replicas: versions.flatMap((v) => v.replicas),
    ...(worst && worst.state !== "Healthy" ? { reason: `version '${worst.version}': ${worst.reason ?? worst.state}` } : {}),
    versions,
  };
}
