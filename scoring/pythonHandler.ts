/**
 * Python entry scripts (`score.py` with `init()` and `run()`), answered with the contract of
 * Azure ML's scoring server (azureml-inference-server-http 1.5.x) by Python worker processes
 * (scoring/python/worker.py). Node keeps HTTP, probes, limits, data collection and logs; each
 * worker runs one request at a time, as that server's sync workers do, and there are as many
 * workers as the service's `replicaMaxConcurrentRequests`.
 *
 * The bridge: fd 3 carries requests to a worker, fd 4 its answers, each a frame of a 4-byte
 * big-endian header length, the JSON header, and `size` raw body bytes. Request bodies go out as
 * the chunks the socket delivered (no concatenation, no base64); answers come back as slices of
 * the chunks the pipe delivered. stdout/stderr of the workers are the script's, and go to the
 * replica log line by line, and to `onOutput` in the async context of the request the worker
 * runs (Application Insights trace records, scoring/telemetry.ts).
 */
import { AsyncResource } from "node:async_hooks";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { Logger } from "pino";
import { SCORING_ENV } from "../core/contracts/naming";
import { amlErrorResponse, swaggerAnswer, type SwaggerDocs } from "../core/contracts/amlScoring";
import { MODELS_ROOT } from "./bootstrap";
import type { FullResponse, HttpHandler, ModelContext, ScoreRequest } from "./handlers";

/** The worker and the compatibility packages; next to this file in the repository and in the bundle. */
export function pythonRuntimeDir(): string {
  const beside = path.join(__dirname, "python");
  return existsSync(path.join(beside, "worker.py")) ? beside : path.join(__dirname, "..", "scoring", "python");
}

export interface PythonHandlerOptions {
  /** Interpreter: `AKS_INFERENCE_PYTHON`, else `python3`. */
  python: string;
  /** The unpacked project folder (`AML_APP_ROOT`). */
  appRoot: string;
  /** Entry script path relative to `appRoot` (`AZUREML_ENTRY_SCRIPT`). */
  entryScript: string;
  models: ModelContext;
  /** Where the models were unpacked (`azureml-models/<name>/<version>/`). */
  modelsRoot: string;
  service: string;
  /** Worker processes, one request each at a time: the replica's maxConcurrentRequests. */
  workers: number;
  /** run() longer than this: the worker is killed and restarted (a signal cannot stop native code). */
  scoringTimeoutMs: number;
  log: Logger;
  /** A worker that cannot be brought back (its init() failed on restart): the replica must end. */
  onFatal?: (err: Error) => void;
  /**
   * Each line a worker prints, called in the async context of the request the worker runs
   * (where score() was called), else in init()'s. The connection string is not the workers' to see.
   */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
}

interface Frame {
  header: Record<string, unknown>;
  body: Buffer[];
}

/** Headers are small JSON (swagger documents are the largest); anything bigger is not our protocol. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Splits the byte stream of fd 4 into frames; bodies stay slices of the chunks received. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private headerLength = -1;
  private header?: Record<string, unknown>;

  constructor(private readonly onFrame: (f: Frame) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.headerLength < 0) {
        if (this.buffered < 4) return;
        this.headerLength = Buffer.concat(this.take(4)).readUInt32BE(0);
        if (this.headerLength > MAX_HEADER_BYTES) throw new Error(`frame header of ${this.headerLength} bytes: not the worker's protocol`);
      }
      if (!this.header) {
        if (this.buffered < this.headerLength) return;
        this.header = JSON.parse(Buffer.concat(this.take(this.headerLength)).toString("utf8")) as Record<string, unknown>;
      }
      const size = Number(this.header.size ?? 0);
      if (this.buffered < size) return;
      const frame = { header: this.header, body: this.take(size) };
      this.headerLength = -1;
      this.header = undefined;
      this.onFrame(frame);
    }
  }

  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const head = this.chunks[0];
      if (head.length <= n) {
        out.push(head);
        this.chunks.shift();
        n -= head.length;
        this.buffered -= head.length;
      } else {
        out.push(head.subarray(0, n));
        this.chunks[0] = head.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
    return out;
  }
}

function frameHead(header: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const head = Buffer.allocUnsafe(4 + json.length);
  head.writeUInt32BE(json.length, 0);
  json.copy(head, 4);
  return head;
}

interface Job {
  req: ScoreRequest;
  resolve: (r: FullResponse) => void;
  /** The async context score() was called in: what the worker prints for this job is reported there. */
  context: AsyncResource;
  /** The worker's answer, from when it arrives until the job is resolved with it (the next turn). */
  answer?: FullResponse;
}

class Worker {
  readonly proc: ChildProcess;
  ready = false;
  job?: Job;
  timer?: NodeJS.Timeout;
  timedOut = false;
  /** Last lines of stderr: the reason of a crash before init() answered. */
  readonly stderrTail: string[] = [];

  constructor(
    readonly index: number,
    opts: PythonHandlerOptions,
    env: NodeJS.ProcessEnv,
    onFrame: (w: Worker, f: Frame) => void,
  ) {
    this.proc = spawn(opts.python, [path.join(pythonRuntimeDir(), "worker.py")], {
      cwd: opts.appRoot,
      env,
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    });
    const reader = new FrameReader((f) => onFrame(this, f));
    (this.proc.stdio[4] as Readable).on("data", (c: Buffer) => {
      try {
        reader.push(c);
      } catch (err) {
        // Only the worker writes fd 4; garbage there means user code wrote to it. Treated as a crash.
        opts.log.error({ worker: index, err: (err as Error).message }, "python worker broke the protocol: killing it");
        this.proc.kill("SIGKILL");
      }
    });
    // A write to a worker that just died fails with EPIPE; its exit handler answers the request.
    (this.proc.stdio[3] as Writable).on("error", () => undefined);
    for (const [stream, fd] of [["stdout", 1], ["stderr", 2]] as const) {
      createInterface({ input: this.proc.stdio[fd] as Readable, crlfDelay: Infinity }).on("line", (line) => {
        if (fd === 2) {
          this.stderrTail.push(line);
          if (this.stderrTail.length > 60) this.stderrTail.shift();
        }
        opts.log.info({ worker: index, pid: this.proc.pid, stream }, line);
        if (opts.onOutput) {
          const output = opts.onOutput;
          if (this.job) this.job.context.runInAsyncScope(() => output(line, stream));
          else output(line, stream);
        }
      });
    }
  }

  send(req: ScoreRequest): void {
    const header = { op: "run", method: req.method, path: req.path, query: req.query, headers: req.headers, size: req.bodyLength };
    const fd3 = this.proc.stdio[3] as Writable;
    fd3.write(frameHead(header));
    for (const chunk of req.body) fd3.write(chunk);
  }
}

export class PythonHandler implements HttpHandler {
  readonly kind = "http";
  private readonly workers: (Worker | undefined)[];
  private readonly queue: Job[] = [];
  private docs: SwaggerDocs = { docs: {}, supported: [] };
  private closing = false;

  constructor(private readonly opts: PythonHandlerOptions) {
    this.workers = new Array<Worker | undefined>(Math.max(1, opts.workers)).fill(undefined);
  }

  /** The workers' environment: Azure ML's variables, and none of the replica's secrets (the Application Insights connection string included: Node records for them). */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AKS_INFERENCE_") && k !== SCORING_ENV.appInsightsConnectionString) env[k] = v;
    return {
      ...env,
      AZUREML_MODEL_DIR: this.opts.models.modelDir,
      AZUREML_ENTRY_SCRIPT: this.opts.entryScript,
      AML_APP_ROOT: this.opts.appRoot,
      SERVICE_NAME: this.opts.service,
      // The generated swagger's paths are the scoring URI the router serves.
      SERVICE_PATH_PREFIX: `api/v1/service/${this.opts.service}`,
      SCORING_TIMEOUT_MS: String(this.opts.scoringTimeoutMs),
      WORKER_COUNT: String(this.workers.length),
      PYTHONUNBUFFERED: "1",
    };
  }

  private spawn(index: number): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const w = new Worker(index, this.opts, this.env(), (worker, frame) => this.onFrame(worker, frame, resolve, reject));
      this.workers[index] = w;
      w.proc.once("exit", (code, signal) => this.onExit(w, code, signal, reject));
      // A missing interpreter emits "error" and never "exit".
      w.proc.once("error", (err) => reject(new Error(`cannot start the Python interpreter '${this.opts.python}' (${SCORING_ENV.python}): ${err.message}`)));
    });
  }

  private onFrame(w: Worker, { header, body }: Frame, ready: (w: Worker) => void, failed: (e: Error) => void): void {
    if (header.op === "ready") {
      w.ready = true;
      if (Object.keys(this.docs.docs).length === 0) this.docs = { docs: (header.swagger ?? {}) as Record<string, string>, supported: (header.supported ?? []) as string[] };
      this.opts.log.info({ worker: w.index, pid: w.proc.pid, kind: header.kind }, "python worker ready (init() done)");
      ready(w);
      this.pump();
    } else if (header.op === "init_failed") {
      failed(new Error(String(header.error)));
    } else if (header.op === "reply" && w.job) {
      const job = w.job;
      clearTimeout(w.timer);
      // Lines the script printed before answering arrive on other pipes than the answer: those
      // already in the kernel are read in this same turn of the event loop, so the job stays
      // the worker's until the next turn and they are reported as its own.
      job.answer = { status: Number(header.status), headers: header.headers as [string, string][], body };
      setImmediate(() => {
        if (w.job !== job) return; // the worker exited meanwhile: onExit gave the answer
        w.job = undefined;
        job.resolve(job.answer!);
        this.pump();
      });
    }
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null, failedBeforeReady: (e: Error) => void): void {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!w.ready) {
      // Rejects only if the worker said nothing yet (an init_failed frame already rejected).
      failedBeforeReady(new Error(`python worker exited (${how}) before init() finished${w.stderrTail.length ? `:\n${w.stderrTail.join("\n")}` : ""}`));
      return;
    }
    w.ready = false;
    clearTimeout(w.timer);
    if (w.job) {
      const job = w.job;
      w.job = undefined;
      if (job.answer) {
        job.resolve(job.answer);
      } else if (w.timedOut) {
        job.resolve(amlErrorResponse(500, `Scoring timeout after ${this.opts.scoringTimeoutMs} ms`, true));
      } else {
        this.opts.log.error({ worker: w.index, pid: w.proc.pid, how }, "python worker died during a request");
        job.resolve(amlErrorResponse(502, `the Python worker running this request exited (${how}); it is being restarted`, true));
      }
    }
    if (this.closing) return;
    this.opts.log.warn({ worker: w.index, how }, "restarting python worker (init() runs again); replica not ready until it is back");
    this.spawn(w.index).catch((err: Error) => {
      this.opts.log.fatal({ worker: w.index, err: err.message }, "python worker could not be restarted");
      this.opts.onFatal?.(err);
    });
  }

  private pump(): void {
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      if (!w || !w.ready || w.job) continue;
      const job = this.queue.shift()!;
      w.job = job;
      w.timedOut = false;
      w.timer = setTimeout(() => {
        w.timedOut = true;
        this.opts.log.error({ worker: w.index, pid: w.proc.pid, timeoutMs: this.opts.scoringTimeoutMs }, "run() passed the scoring timeout: killing its worker");
        w.proc.kill("SIGKILL");
      }, this.opts.scoringTimeoutMs);
      w.send(job.req);
    }
  }

  async init(): Promise<void> {
    // azureml-core's Model.get_model_path looks in $AML_APP_ROOT/azureml-models, where Azure ML
    // unpacks models; ours sit beside the project folder, so that path leads to them.
    const expected = path.join(this.opts.appRoot, MODELS_ROOT);
    if (path.resolve(expected) !== path.resolve(this.opts.modelsRoot) && existsSync(this.opts.modelsRoot) && !existsSync(expected)) {
      symlinkSync(this.opts.modelsRoot, expected, "dir");
    }
    try {
      await Promise.all(this.workers.map((_, i) => this.spawn(i)));
    } catch (err) {
      this.closing = true;
      for (const w of this.workers) w?.proc.kill("SIGKILL");
      throw err;
    }
  }

  score(req: ScoreRequest): Promise<FullResponse> {
    return new Promise((resolve) => {
      this.queue.push({ req, resolve, context: new AsyncResource("aks-inference.python-job") });
      this.pump();
    });
  }

  swagger(version: string | undefined): FullResponse {
    return swaggerAnswer(this.docs, version);
  }

  healthy(): boolean {
    return this.workers.every((w) => w?.ready === true);
  }

  /** Worker pids (tests and benchmarks watch their memory and kill them). */
  pids(): number[] {
    return this.workers.flatMap((w) => (w?.proc.pid ? [w.proc.pid] : []));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(async (w) => {
        if (!w || w.proc.exitCode !== null || w.proc.signalCode !== null) return;
        const exited = new Promise((r) => w.proc.once("exit", r));
        (w.proc.stdio[3] as Writable).end();
        const t = setTimeout(() => w.proc.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
