/**
 * Local mode's stand-in for the kubelet and the Deployment controller: starts scoring replicas
 * as child processes, probes their readiness like Kubernetes does, adds them to the router's
 * discovery only once ready, removes them from discovery before stopping them (so no request is
 * lost on scale-down), restarts crashed ones with Kubernetes' back-off (core/decisions/crashLoop.ts), and
 * reports each service's state.
 *
 * Like a container, a replica is a process group (everything its score.py forks) with a working
 * directory of its own: both go when its process ends, whether it crashed or was stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { crashLoopReason, KUBERNETES_BACKOFF, nextBackoff, type BackoffPolicy } from "../core/decisions/crashLoop";
import { computeFromReadiness } from "../core/decisions/gpu";
import { INIT_FAILED_EXIT_CODE } from "../core/contracts/naming";
import { REPLICA_TOKEN_HEADER } from "../core/contracts/replicaToken";
import { scoringEnv } from "../core/contracts/scoringEnv";
import { serviceState, type ReplicaInfo, type ServiceStatus } from "../core/decisions/serviceState";
import type { LocalDiscovery } from "../router/inProcess";
import { freePort } from "./ports";
import { waitReady } from "./probe";
import { logDir, logFile, readLocalState } from "./state";

const SCORING_MAIN = path.join(__dirname, "..", "scoring", "main.ts");

/** Lines of a replica's output kept to explain its exit. */
const OUTPUT_LINES_KEPT = 50;
/** How long an exited replica's output may take to drain before its exit is handled anyway. */
const OUTPUT_DRAIN_MS = 2_000;

interface OutputLine {
  stderr: boolean;
  text: string;
}

/** One run of a replica: its process and what it printed last. */
interface Run {
  child: ChildProcess;
  startedMs: number;
  output: OutputLine[];
  /** Why the supervisor killed it (readiness timeout), which its exit then reports. */
  killedBecause?: string;
  /** Resolves once its exit has been handled (discovery, group, working directory). */
  exited: Promise<void>;
}

interface Replica extends ReplicaInfo {
  service: string;
  /** The current run; undefined while the replica waits for its restart. */
  run?: Run;
  /** Crashes in a row (reset by a long enough run): the back-off's exponent. */
  streak: number;
  restartTimer?: NodeJS.Timeout;
}

export interface SupervisorOptions {
  discovery: LocalDiscovery;
  /** Scoring environment of a service (core/contracts/scoringEnv.ts; the supervisor adds each replica's own part). */
  env: (service: string) => Record<string, string>;
  repoRoot: string;
  /** Where per-service logs, work dirs and termination messages go. */
  stateDir: string;
  log: Logger;
  /** How long a replica may take to become ready. Default 120 s. */
  startTimeoutMs?: number;
  /** Also hands each line a replica writes (stdout or stderr) here, e.g. to show it on a terminal. */
  replicaOutput?: (replica: string, line: string) => void;
  /** Delays between restarts of a crashing replica; default Kubernetes' (10 s doubling to 5 min). */
  backoff?: BackoffPolicy;
  /** A secret every replica requires in REPLICA_TOKEN_HEADER (the router must send it too). */
  replicaToken?: string;
}

/** Sends `signal` to a replica's whole process group; nothing when the group is gone. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every process of the group has ended.
  }
}

/** The last line of a possibly multi-line message (a traceback's last line names the exception). */
function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}

/**
 * What a replica said last that explains its exit: the last fatal line it logged (its `err`, else
 * its message) or the last line on stderr naming an error or exception (a Python worker's stderr
 * comes as log lines with `stream: "stderr"`), else its last stderr line.
 */
export function exitMessage(lines: readonly OutputLine[]): string | undefined {
  let best: string | undefined;
  let lastStderr: string | undefined;
  for (const { stderr, text } of lines) {
    let entry: { level?: unknown; msg?: unknown; err?: unknown; stream?: unknown } | undefined;
    try {
      entry = text.startsWith("{") ? (JSON.parse(text) as typeof entry) : undefined;
    } catch {
      entry = undefined;
    }
    const said = entry ? (entry.stream === "stderr" && typeof entry.msg === "string" ? entry.msg : undefined) : stderr ? text : undefined;
    if (entry && typeof entry.level === "number" && entry.level >= 60) {
      const what = typeof entry.err === "string" ? entry.err : typeof entry.msg === "string" ? entry.msg : undefined;
      if (what) best = lastLine(what);
    } else if (said !== undefined && said.trim()) {
      lastStderr = said;
      if (/(Error|Exception)\b/.test(said)) best = said.trim();
    }
  }
  return best ?? lastStderr?.trim();
}

export class Supervisor {
  private readonly replicas = new Map<string, Replica[]>();
  private readonly desired = new Map<string, number>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Services that cannot start at all (e.g. no interpreter for their environment), with the reason. */
  private readonly unstartable = new Map<string, string>();
  private readonly backoff: BackoffPolicy;
  private seq = 0;
  private stopped = false;
  /** If local mode exits without stopping its replicas (an error), their groups go with it. */
  private readonly killAll = () => {
    for (const r of [...this.replicas.values()].flat()) signalGroup(r.run?.child.pid, "SIGKILL");
  };

  constructor(private readonly opts: SupervisorOptions) {
    this.backoff = opts.backoff ?? KUBERNETES_BACKOFF;
    mkdirSync(logDir(opts.stateDir), { recursive: true });
    // Working directories a local mode that was killed left behind (none runs in this folder now).
    if (!readLocalState(opts.stateDir)) rmSync(this.workRoot(), { recursive: true, force: true });
    process.on("exit", this.killAll);
  }

  logFile(service: string): string {
    return logFile(this.opts.stateDir, service);
  }

  private workRoot(): string {
    return path.join(this.opts.stateDir, "work");
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

  /** The service's state now: what `state`, the admin API and the status page all read. */
  status(service: string, now = Date.now()): ServiceStatus {
    const replicas = this.replicas.get(service) ?? [];
    const desired = this.desired.get(service) ?? 0;
    const unstartable = this.unstartable.get(service);
    if (unstartable !== undefined) return { name: service, desired, ready: 0, replicas: [], state: "Failed", reason: unstartable };
    const infos = replicas.map(({ id, url, status, startedAt, reason, gpu, restarts, lastExit, run }): ReplicaInfo => {
      const loop = crashLoopReason({ waiting: status === "crashed", restarts, lastExit, runningSinceMs: run?.startedMs }, now, this.backoff);
      return { id, url, status, startedAt, reason: loop ?? reason, gpu, restarts, lastExit, ...(loop ? { crashLoop: true } : {}) };
    });
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
    // A crashed replica waiting for its restart still counts, as a pod in CrashLoopBackOff does.
    const live = () => (this.replicas.get(service) ?? []).filter((r) => r.status === "starting" || r.status === "ready" || r.status === "crashed");
    // A replica whose init() failed will fail again: start no more until the config changes.
    if ((this.replicas.get(service) ?? []).some((r) => r.status === "failed")) return;
    const starts: Promise<void>[] = [];
    for (let i = live().length; i < n; i++) starts.push(this.start(service));
    await Promise.all(starts);
    // Scale down: crashed ones first, then starting ones, then ready ones, newest first.
    const order = (r: Replica) => ["crashed", "starting", "ready"].indexOf(r.status);
    const surplus = live()
      .sort((a, b) => (a.status === b.status ? b.startedAt.localeCompare(a.startedAt) : order(a) - order(b)))
      .slice(0, Math.max(0, live().length - n));
    await Promise.all(surplus.map((r) => this.stop(r)));
  }

  private async start(service: string): Promise<void> {
    const replica: Replica = { id: `${service}-${++this.seq}`, url: "", service, status: "starting", startedAt: new Date().toISOString(), restarts: 0, streak: 0 };
    this.replicas.set(service, [...(this.replicas.get(service) ?? []), replica]);
    await this.launch(replica);
  }

  private workDir(r: Replica): string {
    return path.join(this.workRoot(), r.id);
  }

  private terminationFile(r: Replica): string {
    return `${this.workDir(r)}.termination`;
  }

  /** Starts a run of the replica (its first, or a restart) and probes it until ready. */
  private async launch(r: Replica): Promise<void> {
    const port = await freePort();
    // Stopped (scaled down, or shutdown) while a restart was on its way: no process to start.
    if (this.stopped || r.status === "stopping") return;
    r.url = `http://127.0.0.1:${port}`;
    r.status = "starting";
    r.reason = undefined;
    r.startedAt = new Date().toISOString();
    mkdirSync(this.workRoot(), { recursive: true });
    // The scoring server is this package's own, wherever the stack's files (repoRoot) are.
    const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), SCORING_MAIN], {
      cwd: this.opts.repoRoot,
      env: {
        ...process.env,
        ...this.opts.env(r.service),
        ...scoringEnv({ host: "127.0.0.1", port, replicaId: r.id, workDir: this.workDir(r), terminationLog: this.terminationFile(r), replicaToken: this.opts.replicaToken }),
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, as a container: stopping the replica ends whatever it forked.
      detached: true,
    });
    const output: OutputLine[] = [];
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        // Like the end of a container: what the replica forked goes with it (and so lets go of its pipes).
        signalGroup(child.pid, "SIGKILL");
        const drained = Promise.race([closed, new Promise((t) => setTimeout(t, OUTPUT_DRAIN_MS))]);
        void drained.then(() => {
          this.onExit(r, run, code, signal);
          resolve();
        });
      });
    });
    const run: Run = { child, startedMs: Date.now(), output, exited };
    r.run = run;
    // A missing program is reported on "error" (and "exit" follows with a code).
    child.once("error", (err) => output.push({ stderr: true, text: err.message }));
    const out = this.logStream(r.service);
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const show = this.opts.replicaOutput;
    for (const [stream, stderr] of [[child.stdout, false], [child.stderr, true]] as const) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (text) => {
        output.push({ stderr, text });
        if (output.length > OUTPUT_LINES_KEPT) output.shift();
        show?.(r.id, text);
      });
    }
    this.opts.log.info({ service: r.service, replica: r.id, port, ...(r.restarts ? { restarts: r.restarts } : {}) }, r.restarts ? "replica restarting" : "replica starting");
    await this.probe(r, run);
  }

  /** Polls /readyz like a readiness probe; the replica joins discovery on the first 200. */
  private async probe(r: Replica, run: Run): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 120_000;
    const current = () => r.run === run && r.status === "starting";
    const headers: Record<string, string> = this.opts.replicaToken ? { [REPLICA_TOKEN_HEADER]: this.opts.replicaToken } : {};
    const ready = await waitReady(`${r.url}/readyz`, { timeoutMs, alive: current, headers });
    if (ready && current()) {
      // A GPU service's replica says which compute it got; `state` shows it.
      const gpu = await fetch(`${r.url}/readyz`, { headers, signal: AbortSignal.timeout(1_000) }).then((res) => res.json(), () => undefined).then(computeFromReadiness);
      if (!current()) return;
      r.status = "ready";
      r.gpu = gpu;
      this.opts.discovery.addReplica(r.service, { id: r.id, url: r.url });
      this.opts.log.info({ service: r.service, replica: r.id }, "replica ready");
      return;
    }
    // Never ready: killed and restarted like a container that fails its startup probe.
    if (current()) {
      run.killedBecause = `not ready within ${Math.round(timeoutMs / 1000)} s`;
      signalGroup(run.child.pid, "SIGKILL");
    }
  }

  private onExit(r: Replica, run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    this.opts.discovery.removeReplica(r.service, r.id);
    const termination = existsSync(this.terminationFile(r)) ? readFileSync(this.terminationFile(r), "utf8") : undefined;
    // Each run starts from a fresh working directory (a copy of the package and the models): the last one's goes now.
    rmSync(this.workDir(r), { recursive: true, force: true });
    rmSync(this.terminationFile(r), { force: true });
    r.run = undefined;
    r.gpu = undefined;
    if (r.status === "stopping" || this.stopped) {
      this.remove(r);
      return;
    }
    const ranMs = Date.now() - run.startedMs;
    r.lastExit = { code, signal, message: termination ?? run.killedBecause ?? exitMessage(run.output), at: new Date().toISOString(), ranMs };
    if (code === INIT_FAILED_EXIT_CODE) {
      r.status = "failed";
      r.reason = termination ?? "init() failed (see logs)";
      this.opts.log.error({ service: r.service, replica: r.id, reason: r.reason }, "replica failed");
      return;
    }
    const { streak, delayMs } = nextBackoff(r.streak, ranMs, this.backoff);
    r.streak = streak;
    r.restarts++;
    r.status = "crashed";
    r.reason = `replica ${r.id} exited (${signal ?? `code ${code}`})`;
    this.opts.log.warn({ service: r.service, replica: r.id, code, signal, message: r.lastExit.message, restarts: r.restarts, delayMs }, "replica crashed; restarting after back-off");
    r.restartTimer = setTimeout(() => {
      r.restartTimer = undefined;
      if (!this.stopped && r.status === "crashed") void this.launch(r);
    }, delayMs);
    r.restartTimer.unref();
  }

  private remove(r: Replica): void {
    this.replicas.set(r.service, (this.replicas.get(r.service) ?? []).filter((x) => x !== r));
  }

  /**
   * Out of discovery first (no new requests), then SIGTERM to the replica: it finishes in-flight
   * work; once it exits (or after 70 s), whatever it forked is killed with it.
   */
  private async stop(r: Replica): Promise<void> {
    this.opts.discovery.removeReplica(r.service, r.id);
    r.status = "stopping";
    clearTimeout(r.restartTimer);
    const run = r.run;
    if (!run) {
      this.remove(r);
      return;
    }
    const kill = setTimeout(() => signalGroup(run.child.pid, "SIGKILL"), 70_000);
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
    await run.exited;
    clearTimeout(kill);
  }

  /** No more starts or restarts from now on (shutdown has begun). */
  shutdown(): void {
    this.stopped = true;
  }

  /** Stops every replica (Ctrl-C) and removes their working directories. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.replicas.values()].flat().map((r) => this.stop(r)));
    rmSync(this.workRoot(), { recursive: true, force: true });
    process.off("exit", this.killAll);
    for (const s of this.logs.values()) s.end();
  }
}
