/**
 * Per-service load balancing: least outstanding requests across ready replicas, at most
 * `maxConcurrentRequestsPerReplica` in flight per replica, and a bounded FIFO queue with a
 * maximum wait for the rest (azureml-fe's behaviour). The counts it keeps (in flight, queued)
 * are what the autoscaler decides on.
 */
import { Pool } from "undici";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import type { Replica, ServiceLoad } from "./types";

export interface ReplicaSlot {
  readonly replica: Replica;
  readonly pool: Pool;
  inFlight: number;
  /** Removed from discovery: no new requests; closed once idle. */
  removed: boolean;
}

interface Waiter {
  resolve(slot: ReplicaSlot): void;
  reject(err: BalancerError): void;
  timer: NodeJS.Timeout;
  exclude?: ReadonlySet<string>;
}

export class BalancerError extends Error {
  constructor(
    readonly status: 503,
    readonly code: "NoReadyReplica" | "QueueFull" | "QueueTimeout",
    message: string,
  ) {
    super(message);
  }
}

export class ServiceBalancer {
  private readonly slots = new Map<string, ReplicaSlot>();
  /** The slots in rotation order, kept in step with `slots` (pick runs on every request: no array made per call). */
  private order: ReplicaSlot[] = [];
  private readonly queue: Waiter[] = [];
  private next = 0;

  constructor(
    public settings: ServiceRoutingSettings,
    private readonly maxQueueLength: number,
  ) {}

  /** Brings the replica set in line with discovery: new ones join, gone ones stop getting requests. */
  update(settings: ServiceRoutingSettings, replicas: Replica[]): void {
    this.settings = settings;
    const ids = new Set(replicas.map((r) => r.id));
    for (const [id, slot] of this.slots) {
      if (!ids.has(id) || slot.replica.url !== replicas.find((r) => r.id === id)?.url) {
        slot.removed = true;
        this.slots.delete(id);
        if (slot.inFlight === 0) void slot.pool.close();
      }
    }
    for (const r of replicas) {
      if (!this.slots.has(r.id)) {
        this.slots.set(r.id, {
          replica: r,
          // Keep-alive connections per replica; the balancer, not the pool, bounds concurrency.
          pool: new Pool(r.url, { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, pipelining: 1, connectTimeout: 2_000 }),
          inFlight: 0,
          removed: false,
        });
      }
    }
    this.order = [...this.slots.values()];
    this.drainQueue();
  }

  readyReplicas(): number {
    return this.slots.size;
  }

  load(): ServiceLoad {
    let inFlight = 0;
    for (const s of this.slots.values()) inFlight += s.inFlight;
    return { inFlight, queued: this.queue.length };
  }

  /** The free replica with the fewest requests in flight, rotating among equals. */
  private pick(exclude?: ReadonlySet<string>): ReplicaSlot | undefined {
    const limit = this.settings.maxConcurrentRequestsPerReplica;
    const all = this.order;
    let best: ReplicaSlot | undefined;
    for (let i = 0; i < all.length; i++) {
      const s = all[(this.next + i) % all.length];
      if (s.inFlight >= limit || exclude?.has(s.replica.id)) continue;
      if (!best || s.inFlight < best.inFlight) best = s;
    }
    if (best) this.next = (this.next + 1) % Math.max(all.length, 1);
    return best;
  }

  /**
   * A replica slot for one request; waits in the queue up to the service's maximum wait.
   * `exclude` skips replicas a retried request already failed to reach.
   */
  acquire(exclude?: ReadonlySet<string>): Promise<ReplicaSlot> {
    const slot = this.tryAcquire(exclude);
    if (slot) return Promise.resolve(slot);
    if (this.queue.length >= this.maxQueueLength) {
      return Promise.reject(new BalancerError(503, "QueueFull", `service '${this.settings.name}' is at capacity (${this.queue.length} requests queued)`));
    }
    return new Promise<ReplicaSlot>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        exclude,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          // Stryker disable next-line ConditionalExpression: equivalent, the waiter is always queued here (leaving the queue clears this timer); the guard keeps a future change from dropping another waiter
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            this.slots.size === 0
              ? new BalancerError(503, "NoReadyReplica", `service '${this.settings.name}' has no ready replica`)
              : new BalancerError(503, "QueueTimeout", `service '${this.settings.name}' is busy: waited ${this.settings.maxQueueWaitMs} ms for a free replica`),
          );
        }, this.settings.maxQueueWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  /**
   * A free replica slot now, or none: never queues. For work that must not wait or make live
   * requests wait behind it (mirrored copies), and the Promise-free common case of a request:
   * `tryAcquire(exclude) ?? await acquire(exclude)` picks as `acquire(exclude)` alone would.
   */
  tryAcquire(exclude?: ReadonlySet<string>): ReplicaSlot | undefined {
    const slot = this.queue.length === 0 ? this.pick(exclude) : undefined;
    if (slot) slot.inFlight++;
    return slot;
  }

  release(slot: ReplicaSlot): void {
    slot.inFlight--;
    if (slot.removed) {
      if (slot.inFlight === 0) void slot.pool.close();
      return;
    }
    this.drainQueue();
  }

  private drainQueue(): void {
    while (this.queue.length > 0) {
      const waiter = this.queue[0];
      const slot = this.pick(waiter.exclude);
      if (!slot) return;
      this.queue.shift();
      clearTimeout(waiter.timer);
      slot.inFlight++;
      waiter.resolve(slot);
    }
  }

  /** Fails queued requests and closes connections (service removed or router stopping). */
  async close(): Promise<void> {
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new BalancerError(503, "NoReadyReplica", `service '${this.settings.name}' was removed`));
    }
    await Promise.all(this.order.map((s) => s.pool.close()));
    this.slots.clear();
    this.order = [];
  }
}
