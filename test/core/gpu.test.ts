/**
 * GPU services compute on the GPU: the provider choice (pure), the ONNX handler acting on it with
 * a fake machine (no GPU here), the replica reporting it, and the config key that allows CPU.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import * as ort from "onnxruntime-node";
import pino from "pino";
import { ConfigError, parseStackConfig } from "../../core/config";
import { afterCudaSessionFailure, parseNvidiaSmiList, pythonComputeReport, selectProvider, type GpuProbe, type GpuRequest } from "../../core/decisions/gpu";
import { EntryScriptHandler, OnnxHandler } from "../../scoring/handlers";
import { startScoringServer, type ScoringServer } from "../../scoring/server";
import { REPO_ROOT, rawStack } from "../support/stacks";
import { tempDir } from "../support/tmp";

const MODEL = path.join(REPO_ROOT, "samples", "models", "regressor.onnx");
const T4 = "GPU 0: Tesla T4 (UUID: GPU-2f1c6d3e-0000-0000-0000-000000000000)";
const gpuService: GpuRequest = { gpuCores: 1, fallbackToCpu: false, pool: "gput4" };
const withGpu: GpuProbe = { cudaProviderInstalled: true, devices: { ok: true, gpus: [T4] } };
const noDevicePlugin: GpuProbe = { cudaProviderInstalled: true, devices: { ok: false, error: "nvidia-smi is not in the container" } };

describe("GPU provider selection", () => {
  it("gives CPU services the CPU provider without probing anything", () => {
    assert.deepEqual(selectProvider({ gpuCores: 0, fallbackToCpu: false }, noDevicePlugin), { ok: true, provider: "cpu", executionProviders: ["cpu"] });
  });

  it("asks for CUDA first (CPU after it) when the service has a GPU and one is visible", () => {
    assert.deepEqual(selectProvider(gpuService, withGpu), { ok: true, provider: "cuda", executionProviders: ["cuda", "cpu"] });
  });

  it("fails a GPU service without a visible device, naming the device plugin and the pool", () => {
    const d = selectProvider(gpuService, noDevicePlugin);
    assert.equal(d.ok, false);
    assert.match(!d.ok ? d.reason : "", /^no CUDA device visible \(nvidia-smi is not in the container\): check the NVIDIA device plugin on pool gput4/);
    assert.match(!d.ok ? d.reason : "", /gpuFallbackToCpu/);
    const none = selectProvider(gpuService, { cudaProviderInstalled: true, devices: { ok: true, gpus: [] } });
    assert.match(!none.ok ? none.reason : "", /nvidia-smi lists none.*pool gput4/);
  });

  it("fails a GPU service whose image has no CUDA execution provider, pointing at the CUDA image", () => {
    const d = selectProvider(gpuService, { cudaProviderInstalled: false, devices: { ok: true, gpus: [T4] } });
    assert.match(!d.ok ? d.reason : "", /no CUDA execution provider in this image/);
  });

  it("runs on CPU with a warning only when the service allows it (gpuFallbackToCpu)", () => {
    const d = selectProvider({ ...gpuService, fallbackToCpu: true }, noDevicePlugin);
    assert.ok(d.ok);
    assert.equal(d.provider, "cpu");
    assert.deepEqual(d.executionProviders, ["cpu"]);
    assert.match(d.warning ?? "", /running on CPU although the service asks for 1 GPU\(s\): no CUDA device visible/);
  });

  it("treats a CUDA session onnxruntime refuses like a missing GPU", () => {
    assert.match((afterCudaSessionFailure(gpuService, "CUDA driver version is insufficient") as { reason: string }).reason, /could not create a CUDA session: CUDA driver version is insufficient/);
    assert.equal((afterCudaSessionFailure({ ...gpuService, fallbackToCpu: true }, "x") as { provider: string }).provider, "cpu");
  });

  it("reads nvidia-smi -L output", () => {
    assert.deepEqual(parseNvidiaSmiList(`${T4}\nGPU 1: Tesla T4 (UUID: GPU-1)\n\n`), [T4, "GPU 1: Tesla T4 (UUID: GPU-1)"]);
    assert.deepEqual(parseNvidiaSmiList("No devices found.\n"), []);
  });
});

describe("ONNX handler on a GPU service (fake machine)", function () {
  this.timeout(30_000);
  const models = { modelDir: path.dirname(MODEL), models: { regressor: MODEL } };
  const servers: ScoringServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  /** Records the execution providers asked for; the session itself is a real CPU one. */
  function recordingCreate(failCuda?: string) {
    const asked: string[][] = [];
    const create = async (file: string, options: InferenceSession.SessionOptions) => {
      const eps = (options.executionProviders ?? []).map((e) => (typeof e === "string" ? e : e.name));
      asked.push(eps);
      if (failCuda && eps.includes("cuda")) throw new Error(failCuda);
      return ort.InferenceSession.create(file, { executionProviders: ["cpu"] });
    };
    return { asked, create };
  }

  it("creates its sessions with CUDA first when a GPU is visible, and reports gpu: cuda", async () => {
    const { asked, create } = recordingCreate();
    const h = new OnnxHandler(models, { gpu: gpuService, probe: async () => withGpu, createSession: create });
    await h.init();
    assert.deepEqual(asked, [["cuda", "cpu"]]);
    assert.deepEqual(h.compute(), { gpu: "cuda", warning: undefined });
  });

  it("fails init() with the reason when no GPU is visible and fallback is off", async () => {
    const { asked, create } = recordingCreate();
    const h = new OnnxHandler(models, { gpu: gpuService, probe: async () => noDevicePlugin, createSession: create });
    await assert.rejects(h.init(), /no CUDA device visible .*check the NVIDIA device plugin on pool gput4/);
    assert.deepEqual(asked, [], "no session is created on the CPU behind the service's back");
  });

  it("falls back to CPU when CUDA refuses the model and the service allows it; the replica says so", async () => {
    const { asked, create } = recordingCreate("CUDA driver version is insufficient for CUDA runtime version");
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const h = new OnnxHandler(models, { gpu: { ...gpuService, fallbackToCpu: true }, probe: async () => withGpu, createSession: create });
    const server = await startScoringServer({ service: "regressor-gpu", replica: "r1", handler: h, log });
    servers.push(server);
    await server.initialize();
    assert.deepEqual(asked, [["cuda", "cpu"], ["cpu"]]);
    const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as Record<string, unknown>;
    assert.equal(readyz.gpu, "cpu");
    assert.match(String(readyz.warning), /running on CPU although.*insufficient/, "readiness says why, for `state`");
    const ready = logs.find((l) => String(l.msg).startsWith("init() finished"));
    assert.equal(ready?.msg, "init() finished: replica ready (gpu: cpu)");
    assert.equal(ready?.gpu, "cpu");
    assert.ok(logs.some((l) => l.level === 40 && /running on CPU although.*insufficient/.test(String(l.msg))), "the fallback is logged as a warning");
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /aksinf_replica_compute_info\{service="regressor-gpu",replica="r1",gpu="cpu"\} 1/, "the provider is a metric label");
    const res = await fetch(`${server.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ data: [[1, 2, 3, 4]] }) });
    assert.equal(res.status, 200, "still serves on CPU");
  });

  it("Python GPU services report whether nvidia-smi sees a GPU (cuda), or cpu with the reason", async () => {
    assert.deepEqual(pythonComputeReport({ ok: true, gpus: [T4] }, "gput4"), { gpu: "cuda" });
    const none = pythonComputeReport({ ok: false, error: "nvidia-smi is not in the container" }, "gput4");
    assert.equal(none.gpu, "cpu");
    assert.match(none.warning ?? "", /no CUDA device visible \(nvidia-smi is not in the container\): check the NVIDIA device plugin on pool gput4/);
    // A handler that does not report its compute (Python's) gets the replica's report from the server options.
    const dir = tempDir("entry");
    writeFileSync(path.join(dir, "score.js"), "exports.run = () => 1;");
    const server = await startScoringServer({ service: "py-gpu", replica: "r1", handler: new EntryScriptHandler(path.join(dir, "score.js"), { modelDir: "", models: {} }), log: pino({ level: "silent" }), compute: none });
    servers.push(server);
    await server.initialize();
    const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as Record<string, unknown>;
    assert.equal(readyz.gpu, "cpu");
  });

  it("reports nothing for CPU services (readyz and log line unchanged)", async () => {
    const h = new OnnxHandler(models);
    const server = await startScoringServer({ service: "regressor", replica: "r1", handler: h, log: pino({ level: "silent" }) });
    servers.push(server);
    await server.initialize();
    assert.equal(h.compute(), undefined);
    assert.deepEqual(await (await fetch(`${server.url}/readyz`)).json(), { status: "ready" });
    assert.doesNotMatch(await (await fetch(`${server.url}/metrics`)).text(), /aksinf_replica_compute_info\{/);
  });
});

describe("GPU service config", () => {
  const gpuStack = (svc: Record<string, unknown>, pool: Record<string, unknown> = {}) => ({
    ...rawStack("dev"),
    "aks-inference:gpuPools": [{ name: "gpu", vmSize: "Standard_NC4as_T4_v3", ...pool }],
    "aks-inference:services": [{ name: "svc-a", models: ["m.onnx"], gpuCores: 1, ...svc }],
  });
  const problems = (raw: Record<string, unknown>): string[] => {
    try {
      parseStackConfig(raw, "dev");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  };

  it("defaults gpuFallbackToCpu to false and accepts true on GPU services", () => {
    assert.equal(parseStackConfig(gpuStack({}), "dev").services[0].gpuFallbackToCpu, false);
    assert.equal(parseStackConfig(gpuStack({ gpuFallbackToCpu: true }), "dev").services[0].gpuFallbackToCpu, true);
  });

  it("refuses gpuFallbackToCpu on a CPU service and a non-boolean, naming the key", () => {
    assert.deepEqual(problems(gpuStack({ gpuCores: 0, gpuFallbackToCpu: true })), ["aks-inference:services[0].gpuFallbackToCpu: is only allowed with gpuCores > 0 (a CPU service has no GPU to fall back from)"]);
    assert.match(problems(gpuStack({ gpuFallbackToCpu: "yes" }))[0], /^aks-inference:services\[0\]\.gpuFallbackToCpu: /);
  });

  it("refuses gpuCores above the pool's gpusPerNode", () => {
    assert.deepEqual(problems(gpuStack({ gpuCores: 2 }, { gpusPerNode: 1 })), ["aks-inference:services[0].gpuCores: 2 GPUs do not fit on one 'Standard_NC4as_T4_v3' node (1 GPUs)"]);
    assert.deepEqual(problems(gpuStack({ gpuCores: 2 }, { gpusPerNode: 2 })), []);
  });
});
