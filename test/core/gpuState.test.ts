/**
 * GPU facts the CLI, the stack and the policy pack compute without a cluster: the compute a
 * replica reports, the summary over replicas, the verification Job's wait, and whether a service
 * fits on one node of an N-series size after AKS's reservations.
 */
import * as assert from "node:assert/strict";
import { GPU_VM_SIZES, allocatableOn, computeFromLog, computeFromReadiness, computeSummary, gpuNodeFitProblem, pythonComputeReport, verificationTimeoutSeconds } from "../../core/decisions/gpu";

describe("GPU state and sizing", () => {
  it("reads the compute from a readiness answer: cuda or cpu, nothing else", () => {
    assert.equal(computeFromReadiness({ status: "ready", gpu: "cuda" }), "cuda");
    assert.equal(computeFromReadiness({ gpu: "cpu" }), "cpu");
    assert.equal(computeFromReadiness({ gpu: "rocm" }), undefined);
    assert.equal(computeFromReadiness(null), undefined);
    assert.equal(computeFromReadiness({}), undefined);
  });

  it("reads the last readiness line of a log, skipping other lines and lines that are not JSON", () => {
    const log = [
      '{"msg":"init() finished: replica ready","gpu":"cpu"}',
      "init() finished (not JSON)",
      '{"msg":"scored","gpu":"cuda"}',
      '{"msg":"init() finished: replica ready","gpu":"cuda"}',
      '{"msg":"init() finished: replica ready"}',
    ].join("\n");
    assert.equal(computeFromLog(log), "cuda", "the last line that says, a later line without gpu does not erase it");
    assert.equal(computeFromLog('{"msg":"scored","gpu":"cuda"}'), undefined);
    assert.equal(computeFromLog(""), undefined);
  });

  it("summarises replicas: one provider by name, mixed ones counted, none when no replica reports", () => {
    assert.equal(computeSummary([{ gpu: "cuda" }, { gpu: "cuda" }, {}]), "cuda");
    assert.equal(computeSummary([{ gpu: "cuda" }, { gpu: "cpu" }, { gpu: "cuda" }]), "cuda on 2, cpu on 1");
    assert.equal(computeSummary([{}, {}]), undefined);
    assert.equal(computeSummary([]), undefined);
  });

  it("waits 20 minutes for a pool that may have no node, 10 otherwise", () => {
    assert.equal(verificationTimeoutSeconds({ count: 0 }), 1200);
    assert.equal(verificationTimeoutSeconds({ count: 2, minCount: 0 }), 1200);
    assert.equal(verificationTimeoutSeconds({ count: 1, minCount: 1 }), 600);
    assert.equal(verificationTimeoutSeconds({ count: 1 }), 600);
  });

  it("allocatable after AKS's CPU table, memory bands, eviction threshold and the GPU node daemons", () => {
    const t4 = allocatableOn(GPU_VM_SIZES.Standard_NC4as_T4_v3);
    // 4 vCPUs: 0.14 reserved, 0.2 for daemons. 28 GiB: 1 + 0.8 + 0.8 + 12 × 0.06 + 750 Mi, 0.5 for daemons.
    assert.ok(Math.abs(t4.cpu - 3.66) < 1e-9, String(t4.cpu));
    assert.ok(Math.abs(t4.memoryGiB - (28 - (1 + 0.8 + 0.8 + 0.72 + 750 / 1024) - 0.5)) < 1e-9, String(t4.memoryGiB));
    const big = allocatableOn(GPU_VM_SIZES.Standard_NC96ads_A100_v4);
    assert.ok(Math.abs(big.cpu - (96 - 0.74 - 0.2)) < 1e-9);
    assert.ok(Math.abs(big.memoryGiB - (880 - (1 + 0.8 + 0.8 + 112 * 0.06 + 752 * 0.02 + 750 / 1024) - 0.5)) < 1e-9, String(big.memoryGiB));
    for (const [vcpus, reserved] of [[1, 0.06], [2, 0.1], [6, 0.14], [8, 0.18], [16, 0.26], [32, 0.42], [64, 0.74]] as const) {
      assert.ok(Math.abs(allocatableOn({ vcpus, memoryGiB: 8, gpus: 1 }).cpu - (vcpus - reserved - 0.2)) < 1e-9, `${vcpus} vCPUs`);
    }
    assert.ok(Math.abs(allocatableOn({ vcpus: 0.5, memoryGiB: 1, gpus: 1 }).cpu - (0.5 - 0.06 - 0.2)) < 1e-9, "below 1 vCPU: the smallest reservation");
  });

  it("says what does not fit on one node, with the figures; fits and unknown sizes give nothing", () => {
    assert.equal(gpuNodeFitProblem("Standard_NC4as_T4_v3", 3.65, 23.4), undefined);
    assert.equal(gpuNodeFitProblem("Standard_NC4as_T4_v3", 4, 8), "does not fit on a Standard_NC4as_T4_v3 node next to the system daemons (cpuCores 4 > 3.66 allocatable of 4 vCPUs)");
    assert.equal(
      gpuNodeFitProblem("Standard_NC4as_T4_v3", 4, 28),
      "does not fit on a Standard_NC4as_T4_v3 node next to the system daemons (cpuCores 4 > 3.66 allocatable of 4 vCPUs; memoryGb 28 > 23.4 GiB allocatable of 28 GiB)",
    );
    assert.equal(gpuNodeFitProblem("Standard_NC4as_T4_v3", 1, 24), "does not fit on a Standard_NC4as_T4_v3 node next to the system daemons (memoryGb 24 > 23.4 GiB allocatable of 28 GiB)");
    assert.equal(gpuNodeFitProblem("Standard_ND40rs_v2", 100, 1000), undefined);
  });

  it("lists the N-series sizes AKS GPU pools use", () => {
    assert.deepEqual(GPU_VM_SIZES.Standard_NC24ads_A100_v4, { vcpus: 24, memoryGiB: 220, gpus: 1 });
    assert.deepEqual(GPU_VM_SIZES.Standard_NC12s_v3, { vcpus: 12, memoryGiB: 224, gpus: 2 });
    assert.equal(Object.keys(GPU_VM_SIZES).length, 11);
  });

  it("a Python GPU replica reports cuda when nvidia-smi lists a GPU, else cpu with why and the pool", () => {
    assert.deepEqual(pythonComputeReport({ ok: true, gpus: ["GPU 0: Tesla T4"] }, "gpu1"), { gpu: "cuda" });
    assert.deepEqual(pythonComputeReport({ ok: true, gpus: [] }, "gpu1"), {
      gpu: "cpu",
      warning: "no CUDA device visible (nvidia-smi lists none): check the NVIDIA device plugin on pool gpu1; the entry script runs without a GPU",
    });
    assert.deepEqual(pythonComputeReport({ ok: false, error: "nvidia-smi: not found" }, undefined).warning, "no CUDA device visible (nvidia-smi: not found): check the NVIDIA device plugin on pool gpu; the entry script runs without a GPU");
  });
});
