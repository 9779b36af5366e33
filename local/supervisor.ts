/**
 * Local mode's stand-in for the kubelet and the Deployment controller: starts scoring replicas
 * as child processes, probes their readiness like Kubernetes does, adds them to the router's
 * discovery only once ready, removes them from discovery before stopping them (so no request is
 * lost on scale-down), restarts crashed ones, and reports each service's state.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { computeFromReadiness } from "../core/gpu";
import { INIT_FAILED_EXIT_CODE, SCORING_ENV } from "../core/naming";
import { serviceState, type ReplicaInfo, type ServiceStatus } from "../core/serviceState";
import type { LocalDiscovery } from "../router/inProcess";
import { freePort } from "./ports";
import { waitReady } from "./probe";

const SCORING_MAIN = path.join(__dirname, "..", "scoring", "main.ts");

interface Replica extends ReplicaInfo {
  service: string;
  child: ChildProcess;
}

export interface SupervisorOptions {
  discovery: LocalDiscovery;
  /** Scoring environment of a service (SCORING_ENV without port and replica id). */
  env: (service: string) => Record<string, string>;
  repoRoot: string;
  /** Where per-service logs, work dirs and termination messages go. */
  stateDir: string;
  log: Logger;
  /** How long a replica may take to become ready. Default 120 s. */
  startTimeoutMs?: number;
  /** Also hands each line a replica writes (stdout or stderr) here, e.g. to show it on a terminal. */
  replicaOutput?: (replica: string, line: string) => void;
}

export class Supervisor {
  private readonly replicas = new Map<string, Replica[]>();
  private readonly desired = new Map<string, number>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Services that cannot start at all (e.g. no interpreter for their environment), with the reason. */
  private readonly unstartable = new Map<string, string>();
  private seq = 0;
  private stopped = false;

  constructor(private readonly opts: SupervisorOptions) {
    mkdirSync(path.join(opts.stateDir, "logs"), { recursive: true });
  }

  logFile(service: string): string {
    return path.join(this.opts.stateDir, "logs", `${service}.log`);
  }

  private logStream(service: string): WriteStream {
    let s = this.logs.get(service);
    if (!s) {
      s = createWriteStream(this.logFile(service), { flags: "a" });
      this.logs.set(service, s);
    }
    return s;
  }

  /**
   * Marks a service as unable to start: it is `Failed` with `reason` (also written to its log,
   * where `logs` shows it) and gets no replicas; the other services are not affected.
   */
  fail(service: string, reason: string): void {
    this.unstartable.set(service, reason);
    this.logStream(service).write(`${JSON.stringify({ level: 50, time: Date.now(), service, msg: "service cannot start", reason })}\n`);
    this.opts.log.error({ service, reason }, "service cannot start");
  }

  status(service: string): ServiceStatus {
    const replicas = this.replicas.get(service) ?? [];
    const desired = this.desired.get(service) ?? 0;
    const unstartable = this.unstartable.get(service);
    if (unstartable !== undefined) return { name: service, desired, ready: 0, replicas: [], state: "Failed", reason: unstartable };
    const infos = replicas.map(({ id, url, status, startedAt, reason, gpu }) => ({ id, url, status, startedAt, reason, gpu }));
    return { name: service, desired, ready: infos.filter((r) => r.status === "ready").length, replicas: infos, ...serviceState(desired, infos) };
  }

  /** The Scaler: converge the service to `n` replicas (serialized per service). */
  setReplicas(service: string, n: number): Promise<void> {
    this.desired.set(service, n);
    const run = (this.locks.get(service) ?? Promise.resolve()).then(() => this.converge(service));
    this.locks.set(service, run.catch(() => undefined));
    return run;
  }

  private async converge(service: string): Promise<void> {
    if (this.stopped || this.unstartable.has(service)) return;
    const n = this.desired.get(service) ?? 0;
    const live = () => (this.replicas.get(service) ?? []).filter((r) => r.status === "starting" || r.status === "ready");
    // A replica whose init() failed will fail again: start no more until the config changes.
    if ((this.replicas.get(service) ?? []).some((r) => r.status === "failed")) return;
    const starts: Promise<void>[] = [];
    for (let i = live().length; i < n; i++) starts.push(this.start(service));
    await Promise.all(starts);
    // Scale down: newest first, starting ones before ready ones.
    const surplus = live()
      .sort((a, b) => (a.status === b.status ? b.startedAt.localeCompare(a.startedAt) : a.status === "starting" ? -1 : 1))
      .slice(0, Math.max(0, live().length - n));
    await Promise.all(surplus.map((r) => this.stop(r)));
  }

  private async start(service: string): Promise<void> {
    const id = `${service}-${++this.seq}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const termination = path.join(this.opts.stateDir, "work", `${id}.termination`);
    mkdirSync(path.dirname(termination), { recursive: true });
    // The scoring server is this package's own, wherever the stack's files (repoRoot) are.
    const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), SCORING_MAIN], {
      cwd: this.opts.repoRoot,
      env: {
        ...process.env,
        ...this.opts.env(service),
        HOST: "127.0.0.1",
        [SCORING_ENV.port]: String(port),
        [SCORING_ENV.replicaId]: id,
        [SCORING_ENV.workDir]: path.join(this.opts.stateDir, "work", id),
        TERMINATION_LOG: termination,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const replica: Replica = { id, url, service, child, status: "starting", startedAt: new Date().toISOString() };
    this.replicas.set(service, [...(this.replicas.get(service) ?? []), replica]);
    const out = this.logStream(service);
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const show = this.opts.replicaOutput;
    if (show) {
      for (const stream of [child.stdout, child.stderr]) {
        if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => show(id, line));
      }
    }
    child.once("exit", (code, signal) => this.onExit(replica, code, signal, termination));
    this.opts.log.info({ service, replica: id, port }, "replica starting");
    await this.probe(replica);
  }

  /** Polls /readyz like a readiness probe; the replica joins discovery on the first 200. */
  private async probe(r: Replica): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 120_000;
    const ready = await waitReady(`${r.url}/readyz`, { timeoutMs, alive: () => r.status === "starting" });
    if (ready) {
      r.status = "ready";
      // A GPU service's replica says which compute it got; `state` shows it.
      r.gpu = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((res) => res.json(), () => undefined).then(computeFromReadiness);
      this.opts.discovery.addReplica(r.service, { id: r.id, url: r.url });
      this.opts.log.info({ service: r.service, replica: r.id }, "replica ready");
      return;
    }
    if (r.status === "starting") {
      r.reason = `not ready within ${Math.round(timeoutMs / 1000)} s`;
      await this.stop(r);
      r.status = "crashed";
    }
  }

  private onExit(r: Replica, code: number | null, signal: NodeJS.Signals | null, termination: string): void {
    this.opts.discovery.removeReplica(r.service, r.id);
    if (r.status === "stopping" || this.stopped) {
      this.remove(r);
      return;
    }
    if (code === INIT_FAILED_EXIT_CODE) {
      r.status = "failed";
      r.reason = existsSync(termination) ? readFileSync(termination, "utf8") : "init() failed (see logs)";
      this.opts.log.error({ service: r.service, replica: r.id, reason: r.reason }, "replica failed");
      return;
    }
    r.status = "crashed";
    r.reason = `replica ${r.id} exited (${signal ?? `code ${code}`})`;
    this.opts.log.warn({ service: r.service, replica: r.id, code, signal }, "replica crashed; restarting");
    // Like a Deployment: replace it (after a pause, so a crash loop does not spin).
    setTimeout(() => {
      this.remove(r);
      if (!this.stopped) void this.setReplicas(r.service, this.desired.get(r.service) ?? 0);
    }, 1_000).unref();
  }

  private remove(r: Replica): void {
    this.replicas.set(r.service, (this.replicas.get(r.service) ?? []).filter((x) => x !== r));
  }

  /** Out of discovery first (no new requests), then SIGTERM: the replica finishes in-flight work. */
  private stop(r: Replica): Promise<void> {
    this.opts.discovery.removeReplica(r.service, r.id);
    r.status = "stopping";
    return new Promise<void>((resolve) => {
      if (r.child.exitCode !== null || r.child.signalCode !== null) {
        this.remove(r);
        return resolve();
      }
      const kill = setTimeout(() => r.child.kill("SIGKILL"), 70_000);
      r.child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      r.child.kill("SIGTERM");
    });
  }

  /** No more starts or restarts from now on (shutdown has begun). */
  shutdown(): void {
    this.stopped = true;
  }

  /** Stops every replica (Ctrl-C). */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.replicas.values()].flat().map((r) => this.stop(r)));
    for (const s of this.logs.values()) s.end();
  }
}
