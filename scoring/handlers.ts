/**
 * What answers a scoring request: the service's entry script (Azure ML v1's `init()` / `run(input)`
 * contract, in JavaScript) or, with no entry script, the built-in ONNX handler that serves
 * `.onnx` models with onnxruntime-node.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import type { FullResponse } from "../core/contracts/amlScoring";
import { MAX_PAYLOAD_MB } from "../core/config";
import { afterCudaSessionFailure, parseNvidiaSmiList, selectProvider, type ComputeProvider, type GpuProbe, type GpuRequest } from "../core/decisions/gpu";

// onnxruntime's Linux build (1.30) starts Microsoft's 1DS telemetry when its first session is
// created: it persists a device id and an event database under ~/.cache/Microsoft, writes
// mat-debug-<pid>.log files to the temporary folder, and tries to upload to
// mobile.events.data.microsoft.com. A replica serving a team's model sends nothing to a third
// party by default; an operator who wants it sets ORT_DISABLE_TELEMETRY=0. Set here, where the
// runtime is loaded, so the replica process, a Python worker it starts (whose own onnxruntime
// reads the same variable) and every in-process use are covered alike.
process.env.ORT_DISABLE_TELEMETRY ??= "1";

/** An error whose status code the caller should see (4xx: the caller's fault). */
export class ScoringError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ModelContext {
  /** `AZUREML_MODEL_DIR`: the model's version folder with one model, `azureml-models/` with several. */
  modelDir: string;
  /** Model name → its path (`azureml-models/<name>/<version>/<file or folder>`). */
  models: Record<string, string>;
}

export interface RunContext {
  requestId: string;
}

/** OIP v2 tensor. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

export interface ScoringHandler {
  /** Loads the models; called once, before the replica reports ready. */
  init(): Promise<void>;
  run(input: unknown, ctx: RunContext): Promise<unknown>;
  /** Open Inference Protocol v2 `infer`. */
  infer(body: unknown, ctx: RunContext): Promise<{ outputs: unknown }>;
  /** OpenAPI document of the service. */
  swagger(service: string): object;
  /** After init(): the compute it runs on, for services that asked for a GPU (and why not the GPU, if so). */
  compute?(): ComputeReport | undefined;
}

/** The compute a GPU service's replica ended up with, as the readiness log line and `state` show it. */
export interface ComputeReport {
  gpu: ComputeProvider;
  /** Why the replica runs on CPU although the service asked for a GPU (only with gpuFallbackToCpu). */
  warning?: string;
}

/** One HTTP request to `/score`, as a handler that answers whole exchanges receives it. */
export interface ScoreRequest {
  method: string;
  path: string;
  /** Raw query string, without `?`. */
  query: string;
  /** Header pairs as received (names in the caller's case, repeats kept). */
  headers: [string, string][];
  /** The body as the socket delivered it: chunks, never concatenated. */
  body: Buffer[];
  bodyLength: number;
}

export type { FullResponse };

/**
 * A handler that answers whole HTTP exchanges itself (Python entry scripts, with the contract of
 * Azure ML's scoring server): its status, headers and body are sent as they are.
 */
export interface HttpHandler {
  readonly kind: "http";
  /** Runs `init()`; called once, before the replica reports ready. */
  init(): Promise<void>;
  score(req: ScoreRequest): Promise<FullResponse>;
  /** `GET /swagger.json?version=`. */
  swagger(version: string | undefined): FullResponse;
  /** False while part of it is being restarted: readiness follows it. */
  healthy(): boolean;
  close(): Promise<void>;
}

export function isHttpHandler(h: ScoringHandler | HttpHandler): h is HttpHandler {
  return (h as HttpHandler).kind === "http";
}

interface EntryModule {
  init?: (ctx: ModelContext) => unknown;
  run?: (input: unknown, ctx: RunContext & ModelContext) => unknown;
  schema?: { input?: object; output?: object };
}

/**
 * The 413 of the OpenAPI document: the service's own limit when the replica was told it (a
 * service's limit follows from its memory, core/decisions/payloadLimit.ts), else the bound every service's limit is under.
 */
function tooLargeText(maxBodyBytes: number | undefined): string {
  return maxBodyBytes === undefined
    ? `Payload larger than the service's limit (at most ${MAX_PAYLOAD_MB} MB; less for a service whose memory cannot hold that)`
    : `Payload larger than ${maxBodyBytes} bytes, the service's limit (what its replicas' memory holds)`;
}

function openApi(service: string, input: object, output: object, maxBodyBytes: number | undefined): object {
  return {
    openapi: "3.0.3",
    info: { title: service, version: "1.0" },
    paths: {
      [`/api/v1/service/${service}/score`]: {
        post: {
          summary: `Score with service '${service}'`,
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { "application/json": { schema: input } } },
          responses: {
            "200": { description: "Result", content: { "application/json": { schema: output } } },
            "400": { description: "Invalid input" },
            "401": { description: "Missing or invalid key/token" },
            "413": { description: tooLargeText(maxBodyBytes) },
            "503": { description: "No replica free within the maximum wait" },
          },
        },
      },
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  };
}

/** Azure ML v1's entry script: `init()` once, `run(input)` per request. */
export class EntryScriptHandler implements ScoringHandler {
  private mod?: EntryModule;

  constructor(
    private readonly scriptPath: string,
    private readonly models: ModelContext,
    /** The service's body limit in bytes (routing settings' maxBodyBytes), for its OpenAPI document. */
    private readonly maxBodyBytes?: number,
  ) {}

  async init(): Promise<void> {
    if (!existsSync(this.scriptPath)) throw new Error(`entry script ${this.scriptPath} not found in the package`);
    // import() loads CommonJS and ES modules alike.
    const loaded = (await import(pathToFileURL(this.scriptPath).href)) as EntryModule & { default?: EntryModule };
    const mod = typeof loaded.run === "function" ? loaded : (loaded.default ?? loaded);
    if (typeof mod.run !== "function") throw new Error(`entry script ${path.basename(this.scriptPath)} exports no run(input) function`);
    this.mod = mod;
    await mod.init?.(this.models);
  }

  async run(input: unknown, ctx: RunContext): Promise<unknown> {
    if (!this.mod?.run) throw new ScoringError(503, "the entry script is not initialized");
    return this.mod.run(input, { ...this.models, ...ctx });
  }

  async infer(body: unknown, ctx: RunContext): Promise<{ outputs: unknown }> {
    return { outputs: await this.run(body, ctx) };
  }

  swagger(service: string): object {
    return openApi(service, this.mod?.schema?.input ?? { type: "object" }, this.mod?.schema?.output ?? {}, this.maxBodyBytes);
  }
}

type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array;
/** The typed array of each tensor type the handler serves, allocated at the tensor's size. */
const TYPED: Record<string, (size: number) => NumericArray> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
};
const V2_TYPES: Record<string, string> = { FP32: "float32", FP64: "float64", INT32: "int32", INT64: "int64" };
const TO_V2: Record<string, string> = Object.fromEntries(Object.entries(V2_TYPES).map(([k, v]) => [v, k]));

/**
 * A nested array's shape and its values, written straight into a typed array of `type` (a key of
 * TYPED): no flat copy of the values as JS numbers, whose growth cost a replica more memory than
 * the body itself (bench/replica-memory.ts). Ragged and non-numeric arrays are refused before
 * anything is allocated, so a ragged array cannot make it allocate the size its first row implies.
 */
export function tensorData(value: unknown, name: string, type: string): { dims: number[]; data: NumericArray } {
  const make = TYPED[type];
  if (!make) throw new ScoringError(400, `input '${name}' has type ${type}, which the built-in handler does not serve`);
  const dims: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0] as unknown) dims.push(level.length);
  const last = dims.length - 1;
  const notNumber = () => new ScoringError(400, `input '${name}' must contain only finite numbers`);
  const check = (v: unknown, depth: number): void => {
    if (!Array.isArray(v) || v.length !== dims[depth]) throw new ScoringError(400, `input '${name}' is not a rectangular array (shape ${JSON.stringify(dims)})`);
    if (depth < last) for (const x of v) check(x, depth + 1);
    else for (const x of v) if (typeof x !== "number" || !Number.isFinite(x)) throw notNumber();
  };
  if (dims.length === 0) {
    if (typeof value !== "number" || !Number.isFinite(value)) throw notNumber();
  } else {
    check(value, 0);
  }
  const data = make(dims.reduce((a, b) => a * b, 1));
  let i = 0;
  const put = data instanceof BigInt64Array ? (x: number) => (data[i++] = BigInt(Math.trunc(x))) : (x: number) => (data[i++] = x);
  const fill = (v: unknown[], depth: number): void => {
    if (depth < last) for (const x of v) fill(x as unknown[], depth + 1);
    else for (const x of v) put(x as number);
  };
  if (dims.length === 0) put(value as number);
  else fill(value as unknown[], 0);
  return { dims, data };
}

/** A tensor's values as nested arrays of its shape (what JSON clients get), read straight from its typed array. */
function nest(data: ArrayLike<number | bigint>, dims: readonly number[]): unknown {
  const at = (i: number): number => {
    const x = data[i];
    return typeof x === "bigint" ? Number(x) : x;
  };
  if (dims.length === 0) return at(0);
  const strides = dims.map((_, d) => dims.slice(d + 1).reduce((a, b) => a * b, 1));
  const build = (offset: number, depth: number): unknown[] => {
    const out = new Array<unknown>(dims[depth]);
    for (let i = 0; i < out.length; i++) out[i] = depth === dims.length - 1 ? at(offset + i) : build(offset + i * strides[depth], depth + 1);
    return out;
  };
  return build(0, 0);
}

/**
 * Whether onnxruntime-node can load its CUDA execution provider: it lists CUDA as a backend it
 * was built for, and its CUDA library is in its binary folder (npm does not ship it; the CUDA
 * image installs it with onnxruntime-node's `ONNXRUNTIME_NODE_INSTALL=cuda12` option).
 */
function cudaProviderInstalled(): boolean {
  const cuda = ort.listSupportedBackends().find((b) => b.name === "cuda");
  if (!cuda) return false;
  if (cuda.bundled) return true;
  const bin = path.join(path.dirname(require.resolve("onnxruntime-node/package.json")), "bin", "napi-v6", process.platform, process.arch);
  return existsSync(path.join(bin, "libonnxruntime_providers_cuda.so"));
}

/** `nvidia-smi -L` in this container: the GPUs the NVIDIA runtime gave it, independent of any framework. */
export function listGpus(): Promise<GpuProbe["devices"]> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["-L"], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, gpus: parseNvidiaSmiList(stdout) });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({ ok: false, error: code === "ENOENT" ? "nvidia-smi is not in the container" : `nvidia-smi -L failed: ${(stderr || err.message).trim()}` });
    });
  });
}

/** What the replica's machine offers: the real probe, replaced by fakes in tests. */
export async function probeGpu(): Promise<GpuProbe> {
  return { cudaProviderInstalled: cudaProviderInstalled(), devices: await listGpus() };
}

export interface OnnxHandlerOptions {
  /** The service's GPU request; default none (CPU). */
  gpu?: GpuRequest;
  /** Default: `probeGpu`. Only called for services that ask for GPUs. */
  probe?: () => Promise<GpuProbe>;
  /** Default: onnxruntime-node's `InferenceSession.create`. */
  createSession?: (file: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
  /** The service's body limit in bytes (routing settings' maxBodyBytes), for its OpenAPI document. */
  maxBodyBytes?: number;
}

/** Serves every `.onnx` model of the service; the first one unless the request names another. */
export class OnnxHandler implements ScoringHandler {
  private readonly sessions = new Map<string, ort.InferenceSession>();
  private report?: ComputeReport;

  constructor(
    private readonly models: ModelContext,
    private readonly opts: OnnxHandlerOptions = {},
  ) {}

  /**
   * Creates the sessions on the provider `selectProvider` chose: CUDA first for GPU services.
   * Without a usable GPU (or when CUDA refuses the model) the replica fails with the reason,
   * unless the service allows CPU (gpuFallbackToCpu).
   */
  async init(): Promise<void> {
    const files = Object.entries(this.models.models).filter(([, p]) => p.endsWith(".onnx"));
    if (files.length === 0) throw new Error("no .onnx model in the service's models (and no entry script)");
    const gpu = this.opts.gpu ?? { gpuCores: 0, fallbackToCpu: false };
    const create = this.opts.createSession ?? ((file, options) => ort.InferenceSession.create(file, options));
    const probe = gpu.gpuCores > 0 ? await (this.opts.probe ?? probeGpu)() : { cudaProviderInstalled: false, devices: { ok: true as const, gpus: [] } };
    let decision = selectProvider(gpu, probe);
    if (!decision.ok) throw new Error(decision.reason);
    const open = async (executionProviders: string[]) => {
      this.sessions.clear();
      for (const [name, file] of files) this.sessions.set(name, await create(file, { executionProviders }));
    };
    if (decision.provider === "cuda") {
      try {
        await open(decision.executionProviders);
      } catch (err) {
        decision = afterCudaSessionFailure(gpu, (err as Error).message);
        if (!decision.ok) throw new Error(decision.reason);
        await open(decision.executionProviders);
      }
    } else {
      await open(decision.executionProviders);
    }
    this.report = gpu.gpuCores > 0 ? { gpu: decision.provider, warning: decision.warning } : undefined;
  }

  compute(): ComputeReport | undefined {
    return this.report;
  }

  private session(name?: unknown): [string, ort.InferenceSession] {
    if (name !== undefined) {
      const s = typeof name === "string" ? this.sessions.get(name) : undefined;
      if (!s) throw new ScoringError(400, `unknown model '${String(name)}'; this service has ${[...this.sessions.keys()].join(", ")}`);
      return [name as string, s];
    }
    return this.sessions.entries().next().value as [string, ort.InferenceSession];
  }

  private inputType(session: ort.InferenceSession, input: string): string {
    const meta = session.inputMetadata.find((m) => m.name === input);
    return meta && meta.isTensor ? meta.type : "float32";
  }

  private tensor(session: ort.InferenceSession, name: string, value: unknown): ort.Tensor {
    const type = this.inputType(session, name);
    const { dims, data } = tensorData(value, name, type);
    return new ort.Tensor(type as "float32", data as Float32Array, dims);
  }

  private async runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const missing = session.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) throw new ScoringError(400, `missing input(s) ${missing.join(", ")}`);
    try {
      return await session.run(feeds);
    } catch (err) {
      // onnxruntime rejects shape/type mismatches: the caller sent the wrong tensor.
      throw new ScoringError(400, `model rejected the input: ${(err as Error).message}`);
    }
  }

  /** `{"data": [[...]]}` (the AML samples' form) or `{"inputs": {"<name>": [[...]]}}`, optional `"model"`. */
  async run(input: unknown): Promise<unknown> {
    if (!input || typeof input !== "object" || Array.isArray(input)) throw new ScoringError(400, 'expected a JSON object: {"data": [[...]]} or {"inputs": {"<name>": [[...]]}}');
    const body = input as { data?: unknown; inputs?: Record<string, unknown>; model?: unknown };
    const [, session] = this.session(body.model);
    let feeds: Record<string, ort.Tensor>;
    if (body.inputs && typeof body.inputs === "object") feeds = Object.fromEntries(Object.entries(body.inputs).map(([n, v]) => [n, this.tensor(session, n, v)]));
    else if (body.data !== undefined) feeds = { [session.inputNames[0]]: this.tensor(session, session.inputNames[0], body.data) };
    else throw new ScoringError(400, 'expected "data" or "inputs"');
    const out = await this.runSession(session, feeds);
    return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, nest(t.data as ArrayLike<number>, t.dims)]));
  }

  async infer(body: unknown): Promise<{ outputs: V2Tensor[] }> {
    const inputs = (body as { inputs?: unknown } | null)?.inputs;
    if (!Array.isArray(inputs)) throw new ScoringError(400, 'expected {"inputs": [{"name", "shape", "datatype", "data"}]}');
    const [, session] = this.session();
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs as V2Tensor[]) {
      const type = V2_TYPES[t.datatype];
      if (!type) throw new ScoringError(400, `datatype ${t.datatype} is not served (use ${Object.keys(V2_TYPES).join(", ")})`);
      const { data } = tensorData(t.data, t.name, type);
      if (!Array.isArray(t.shape) || data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new ScoringError(400, `input '${t.name}': shape ${JSON.stringify(t.shape)} does not match ${data.length} values`);
      feeds[t.name] = new ort.Tensor(type as "float32", data as Float32Array, t.shape);
    }
    const out = await this.runSession(session, feeds);
    return {
      outputs: Object.entries(out).map(([name, t]) => ({ name, shape: [...t.dims], datatype: TO_V2[t.type] ?? t.type.toUpperCase(), data: Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? Number(x) : x)) })),
    };
  }

  swagger(service: string): object {
    const [, session] = this.session();
    const input = {
      type: "object",
      properties: { data: { type: "array", items: {}, description: `tensor for input '${session.inputNames[0]}'` }, inputs: { type: "object", properties: Object.fromEntries(session.inputNames.map((n) => [n, { type: "array", items: {} }])) } },
    };
    const output = { type: "object", properties: Object.fromEntries(session.outputNames.map((n) => [n, { type: "array", items: {} }])) };
    return openApi(service, input, output, this.opts.maxBodyBytes);
  }
}
