/**
 * Which compute a scoring replica uses: CUDA or CPU. A service with `gpuCores > 0` pays for a GPU
 * node; running it on that node's CPU without saying so is the failure this module prevents.
 * The decision is pure (tested directly); the scoring server gathers its inputs (what
 * onnxruntime-node can load, what `nvidia-smi -L` lists) and acts on the answer.
 */

/** The compute a replica ended up with, as `state` and the readiness log line report it. */
export type ComputeProvider = "cuda" | "cpu";

/** What a replica was asked for (core/contracts/scoringEnv.ts carries it in the replica's environment). */
export interface GpuRequest {
  gpuCores: number;
  /** The service allows running on CPU without a usable GPU (`gpuFallbackToCpu`). */
  fallbackToCpu: boolean;
  /** The GPU pool the service runs on, named in failure reasons. */
  pool?: string;
}

/** What the replica found on its machine. */
export interface GpuProbe {
  /** onnxruntime-node can load its CUDA execution provider (built with it, library installed). */
  cudaProviderInstalled: boolean;
  /** Devices `nvidia-smi -L` listed, or why it could not list any (not installed, failed). */
  devices: { ok: true; gpus: string[] } | { ok: false; error: string };
}

/** The GPUs in `nvidia-smi -L` output: one `GPU <n>: <model> (UUID: ...)` line each. */
export function parseNvidiaSmiList(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^GPU \d+:/.test(l));
}

export type ProviderDecision =
  /** Ask onnxruntime for these execution providers, in this order. `warning`: why not the GPU. */
  | { ok: true; provider: ComputeProvider; executionProviders: string[]; warning?: string }
  | { ok: false; reason: string };

/** Why a GPU cannot be used, or undefined when it can. */
function gpuUnusable(req: GpuRequest, probe: GpuProbe): string | undefined {
  const pool = req.pool ?? "gpu";
  if (!probe.devices.ok) return `no CUDA device visible (${probe.devices.error}): check the NVIDIA device plugin on pool ${pool}`;
  if (probe.devices.gpus.length === 0) return `no CUDA device visible (nvidia-smi lists none): check the NVIDIA device plugin on pool ${pool}`;
  if (!probe.cudaProviderInstalled) {
    return "onnxruntime-node has no CUDA execution provider in this image: build the service's environment image with gpuCores > 0 (the CUDA variant)";
  }
  return undefined;
}

/**
 * The execution providers of a replica. CPU services get CPU. GPU services get CUDA first (CPU
 * after it, for the operators CUDA does not implement), or — without a usable GPU — fail with
 * the reason, unless the service allows CPU (`gpuFallbackToCpu`), which then comes with a warning.
 */
export function selectProvider(req: GpuRequest, probe: GpuProbe): ProviderDecision {
  if (req.gpuCores === 0) return { ok: true, provider: "cpu", executionProviders: ["cpu"] };
  const why = gpuUnusable(req, probe);
  if (why === undefined) return { ok: true, provider: "cuda", executionProviders: ["cuda", "cpu"] };
  return fallback(req, why);
}

/**
 * After onnxruntime refused to create a CUDA session (driver too old for the CUDA runtime, out of
 * GPU memory): CPU if the service allows it, else the failure with onnxruntime's message.
 */
export function afterCudaSessionFailure(req: GpuRequest, error: string): ProviderDecision {
  return fallback(req, `onnxruntime could not create a CUDA session: ${error}`);
}

function fallback(req: GpuRequest, why: string): ProviderDecision {
  if (!req.fallbackToCpu) return { ok: false, reason: `${why} (set gpuFallbackToCpu: true on the service to run on CPU instead)` };
  return { ok: true, provider: "cpu", executionProviders: ["cpu"], warning: `running on CPU although the service asks for ${req.gpuCores} GPU(s): ${why}` };
}

/** The compute a replica's `/readyz` answer reports (`{"status":"ready","gpu":"cuda"}`), if any. */
export function computeFromReadiness(body: unknown): ComputeProvider | undefined {
  const gpu = (body as { gpu?: unknown } | null)?.gpu;
  return gpu === "cuda" || gpu === "cpu" ? gpu : undefined;
}

/**
 * The compute a replica's log reports: its readiness line (`init() finished: replica ready`,
 * JSON with a `gpu` field). On a cluster the CLI reads it there: the pod's readiness probe result
 * keeps no body, and the CLI cannot reach pods directly.
 */
export function computeFromLog(text: string): ComputeProvider | undefined {
  let found: ComputeProvider | undefined;
  for (const line of text.split("\n")) {
    if (!line.includes("init() finished")) continue;
    try {
      found = computeFromReadiness(JSON.parse(line)) ?? found;
    } catch {
      // not a JSON log line
    }
  }
  return found;
}

/** `cuda`, `cpu`, or `cuda on 2, cpu on 1` when replicas differ; undefined when none reports. */
export function computeSummary(replicas: readonly { gpu?: ComputeProvider }[]): string | undefined {
  const counts = new Map<ComputeProvider, number>();
  for (const r of replicas) if (r.gpu) counts.set(r.gpu, (counts.get(r.gpu) ?? 0) + 1);
  if (counts.size === 0) return undefined;
  if (counts.size === 1) return [...counts.keys()][0];
  return [...counts].map(([p, n]) => `${p} on ${n}`).join(", ");
}

/**
 * How long `pulumi up` waits for a pool's verification Job. A pool that may have no node
 * (`count: 0` or `minCount: 0`) must first be scaled up by the cluster autoscaler, and a new
 * N-series node joins only after its GPU driver is installed: Microsoft documents no figure for
 * that; 20 minutes leaves room for the usual 5-10, while a pool with a node waits 10 at most
 * (image pull, scheduling, driver check).
 */
export function verificationTimeoutSeconds(pool: { count: number; minCount?: number }): number {
  return pool.count === 0 || pool.minCount === 0 ? 1200 : 600;
}

/** An N-series VM size: what a GPU node offers before Kubernetes takes its share. */
export interface GpuVmSize {
  vcpus: number;
  memoryGiB: number;
  gpus: number;
}

/**
 * The NVIDIA N-series sizes AKS GPU pools use, from Microsoft Learn's size-series pages
 * ("NCasT4_v3 sizes series", "NCv3 sizes series", "NC A100 v4 sizes series" under "Sizes for
 * virtual machines in Azure" → GPU accelerated). AMD NVv4 sizes are left out: AKS does not
 * support them ("Use GPUs for compute-intensive workloads on AKS").
 */
export const GPU_VM_SIZES: Readonly<Record<string, GpuVmSize>> = {
  Standard_NC4as_T4_v3: { vcpus: 4, memoryGiB: 28, gpus: 1 },
  Standard_NC8as_T4_v3: { vcpus: 8, memoryGiB: 56, gpus: 1 },
  Standard_NC16as_T4_v3: { vcpus: 16, memoryGiB: 110, gpus: 1 },
  Standard_NC64as_T4_v3: { vcpus: 64, memoryGiB: 440, gpus: 4 },
  Standard_NC6s_v3: { vcpus: 6, memoryGiB: 112, gpus: 1 },
  Standard_NC12s_v3: { vcpus: 12, memoryGiB: 224, gpus: 2 },
  Standard_NC24s_v3: { vcpus: 24, memoryGiB: 448, gpus: 4 },
  Standard_NC24rs_v3: { vcpus: 24, memoryGiB: 448, gpus: 4 },
  Standard_NC24ads_A100_v4: { vcpus: 24, memoryGiB: 220, gpus: 1 },
  Standard_NC48ads_A100_v4: { vcpus: 48, memoryGiB: 440, gpus: 2 },
  Standard_NC96ads_A100_v4: { vcpus: 96, memoryGiB: 880, gpus: 4 },
};

/**
 * What pods can request on one node of `size`: AKS's reservations for the kubelet (Microsoft,
 * "Core concepts for AKS: node resource reservations": the CPU table by core count; memory 25% of
 * the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above, plus the
 * 750 Mi eviction threshold — the larger of the two documented schemes, so the estimate errs
 * towards warning), minus the DaemonSets on every GPU node (kube-proxy, CNI, CSI, monitoring and
 * the NVIDIA device plugin; about 0.2 vCPU and 0.5 GiB together, an estimate).
 */
export function allocatableOn(size: GpuVmSize): { cpu: number; memoryGiB: number } {
  const cpuReserved: [number, number][] = [[64, 0.74], [32, 0.42], [16, 0.26], [8, 0.18], [4, 0.14], [2, 0.1], [1, 0.06]];
  const cpuReserve = cpuReserved.find(([cores]) => size.vcpus >= cores)?.[1] ?? 0.06;
  const bands: [number, number][] = [[4, 0.25], [4, 0.2], [8, 0.1], [112, 0.06], [Infinity, 0.02]];
  let left = size.memoryGiB;
  let memReserve = 750 / 1024;
  for (const [width, rate] of bands) {
    const part = Math.min(left, width);
    memReserve += part * rate;
    left -= part;
  }
  return { cpu: size.vcpus - cpuReserve - 0.2, memoryGiB: size.memoryGiB - memReserve - 0.5 };
}

/** Why a GPU service's replica cannot fit on one node of `vmSize`, or undefined (also for sizes not in the table). */
export function gpuNodeFitProblem(vmSize: string, cpuCores: number, memoryGb: number): string | undefined {
  const size = GPU_VM_SIZES[vmSize];
  if (!size) return undefined;
  const a = allocatableOn(size);
  const short = [
    cpuCores > a.cpu ? `cpuCores ${cpuCores} > ${a.cpu.toFixed(2)} allocatable of ${size.vcpus} vCPUs` : "",
    memoryGb > a.memoryGiB ? `memoryGb ${memoryGb} > ${a.memoryGiB.toFixed(1)} GiB allocatable of ${size.memoryGiB} GiB` : "",
  ].filter(Boolean);
  return short.length > 0 ? `does not fit on a ${vmSize} node next to the system daemons (${short.join("; ")})` : undefined;
}

/**
 * What a Python GPU service's replica reports: whether `nvidia-smi -L` in its container lists a
 * GPU (the user's framework picks its own device; this says whether it had one to pick).
 */
export function pythonComputeReport(devices: GpuProbe["devices"], pool: string | undefined): { gpu: ComputeProvider; warning?: string } {
  if (devices.ok && devices.gpus.length > 0) return { gpu: "cuda" };
  const why = devices.ok ? "nvidia-smi lists none" : devices.error;
  return { gpu: "cpu", warning: `no CUDA device visible (${why}): check the NVIDIA device plugin on pool ${pool ?? "gpu"}; the entry script runs without a GPU` };
}
