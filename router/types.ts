/**
 * The router's seams: where services and replicas come from (Discovery), where keys come from
 * (KeyStore), who changes replica counts (Scaler), and who decides for all router pods
 * (Coordinator). Each has a local implementation (local mode, tests, benchmarks) and a
 * Kubernetes one (the cluster).
 */
import type { ServiceKeys } from "../core/decisions/auth";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";

export interface Replica {
  /** Stable id: pod name, or the local process id. */
  id: string;
  /** Base URL of the scoring server, e.g. `http://10.244.1.7:5001`. */
  url: string;
}

export interface ServiceView {
  settings: ServiceRoutingSettings;
  /** Ready replicas only: the only ones that receive traffic. */
  replicas: Replica[];
}

/**
 * Where services and their ready replicas come from. Changes are pushed, never polled. Each
 * version of a service is seen on its own, keyed by its unit key (core/decisions/versions.ts `unitOf`: the
 * service's name for its implicit version).
 */
export interface Discovery {
  /** Current view of every service version, by unit key. */
  services(): ReadonlyMap<string, ServiceView>;
  /** Called with the unit key whenever a version's settings or ready replicas change (or it goes). */
  onChange(listener: (unit: string) => void): void;
  /** Resolves once the initial state is known. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface KeyStore {
  /** The service's keys, or undefined when it has none (yet). */
  get(service: string): ServiceKeys | undefined;
  close(): Promise<void>;
}

/** Writes a service version's desired replica count (the Deployment's scale, or the local supervisor), by unit key. */
export interface Scaler {
  setReplicas(unit: string, replicas: number): Promise<void>;
}

/** Load one router pod reports for one service. */
export interface ServiceLoad {
  inFlight: number;
  queued: number;
}

/**
 * Several router pods each see part of the traffic; one (the leader) decides. `collect` returns
 * the load of every pod (including this one) per service.
 */
export interface Coordinator {
  isLeader(): boolean;
  /** The pod that decides scaling as this pod last saw it (its status page names it), if known. */
  leaderPod(): string | undefined;
  collect(local: Record<string, ServiceLoad>): Promise<Record<string, ServiceLoad>>;
  close(): Promise<void>;
}
