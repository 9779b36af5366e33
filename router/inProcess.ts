/**
 * In-process implementations of the router's seams (router/kubernetes.ts has the cluster ones):
 * in-memory discovery driven by whoever starts replicas (local mode's supervisor, tests,
 * benchmarks), keys from files, a single-pod coordinator, and a scaler that calls back.
 */
import { readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import * as path from "node:path";
import type { ServiceKeys } from "../core/decisions/auth";
import { readKeyFile } from "../core/contracts/keyFile";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { unitOf } from "../core/decisions/versions";
import type { Coordinator, Discovery, KeyStore, Replica, Scaler, ServiceLoad, ServiceView } from "./types";

export class LocalDiscovery implements Discovery {
  private readonly view = new Map<string, ServiceView>();
  private readonly listeners: ((service: string) => void)[] = [];

  services(): ReadonlyMap<string, ServiceView> {
    return this.view;
  }
  onChange(listener: (service: string) => void): void {
    this.listeners.push(listener);
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}

  private emit(service: string): void {
    for (const l of this.listeners) l(service);
  }

  /** Adds or updates one version of a service (its implicit one for a service without versions). */
  upsertService(settings: ServiceRoutingSettings): void {
    const unit = unitOf(settings.name, settings.version?.name);
    const current = this.view.get(unit);
    this.view.set(unit, { settings, replicas: current?.replicas ?? [] });
    this.emit(unit);
  }

  removeService(name: string): void {
    if (this.view.delete(name)) this.emit(name);
  }

  /** A replica became ready: it receives traffic from now on. */
  addReplica(service: string, replica: Replica): void {
    const v = this.require(service);
    if (v.replicas.some((r) => r.id === replica.id)) return;
    this.view.set(service, { ...v, replicas: [...v.replicas, replica] });
    this.emit(service);
  }

  /** A replica is going away (or not ready): no new requests from now on. */
  removeReplica(service: string, id: string): void {
    const v = this.view.get(service);
    if (!v || !v.replicas.some((r) => r.id === id)) return;
    this.view.set(service, { ...v, replicas: v.replicas.filter((r) => r.id !== id) });
    this.emit(service);
  }

  private require(service: string): ServiceView {
    const v = this.view.get(service);
    if (!v) throw new Error(`unknown service '${service}'`);
    return v;
  }
}

/**
 * Keys from a directory of `<service>.json` files (`{ "primaryKey": ..., "secondaryKey": ... }`),
 * re-read when a file changes, without restart. A mounted Kubernetes Secret works the same way.
 */
export class FileKeyStore implements KeyStore {
  private keys = new Map<string, ServiceKeys>();
  private readonly stamps = new Map<string, number>();
  private watcher?: FSWatcher;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly dir: string, refreshMs = 1000) {
    this.reload();
    try {
      this.watcher = watch(dir, () => this.reload());
    } catch {
      // Directory may not exist yet; the periodic check below picks it up.
    }
    // fs.watch misses changes on some file systems (and on Secret volume symlink swaps): a cheap
    // mtime check backs it up.
    this.timer = setInterval(() => this.reload(), refreshMs);
    this.timer.unref();
  }

  get(service: string): ServiceKeys | undefined {
    return this.keys.get(service);
  }

  /** Re-reads files whose modification time changed. */
  reload(): void {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith(".json"));
    } catch {
      return;
    }
    const next = new Map<string, ServiceKeys>();
    for (const f of files) {
      const service = f.slice(0, -".json".length);
      const file = path.join(this.dir, f);
      try {
        const mtime = statSync(file).mtimeMs;
        const known = this.keys.get(service);
        if (known && this.stamps.get(service) === mtime) {
          next.set(service, known);
          continue;
        }
        const keys = readKeyFile(file);
        if (keys) {
          next.set(service, keys);
          this.stamps.set(service, mtime);
        } else if (known) next.set(service, known);
      } catch {
        // A half-written file: keep the last good keys rather than lock everyone out.
        const known = this.keys.get(service);
        if (known) next.set(service, known);
      }
    }
    this.keys = next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.close();
  }
}

/** One router: it is always the leader and its own counts are all there is. */
export class SingleCoordinator implements Coordinator {
  isLeader(): boolean {
    return true;
  }
  leaderPod(): string | undefined {
    return undefined;
  }
  async collect(local: Record<string, ServiceLoad>): Promise<Record<string, ServiceLoad>> {
    return local;
  }
  async close(): Promise<void> {}
}

/** A scaler that hands the decision to a function (local mode's process supervisor, tests). */
export class CallbackScaler implements Scaler {
  constructor(private readonly fn: (service: string, replicas: number) => Promise<void> | void) {}
  async setReplicas(service: string, replicas: number): Promise<void> {
    await this.fn(service, replicas);
  }
}
