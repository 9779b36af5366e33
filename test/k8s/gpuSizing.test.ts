/** GPU sizing: the N-series table, what fits next to AKS's reservations, and the advisory policy over a planned stack. */
import * as assert from "node:assert/strict";
import { GPU_VM_SIZES, allocatableOn, gpuNodeFitProblem } from "../../core/decisions/gpu";
import { rules } from "../../policies/rules";
import { Plan, asRes, stackConfig } from "../support/stacks";

const rule = rules.find((r) => r.name === "gpu-services-fit-their-pool-vm-size")!;

describe("GPU sizing", function () {
  this.timeout(120_000);

  it("knows the sizes' vCPUs, memory and GPUs, and leaves room for AKS and the daemons", () => {
    assert.deepEqual(GPU_VM_SIZES.Standard_NC4as_T4_v3, { vcpus: 4, memoryGiB: 28, gpus: 1 });
    assert.equal(GPU_VM_SIZES.Standard_NC24s_v3.gpus, 4);
    const a = allocatableOn(GPU_VM_SIZES.Standard_NC4as_T4_v3);
    // 4 vCPUs − 0.14 kubelet − 0.2 daemons; 28 GiB − (1 + 0.8 + 0.8 + 0.72 + 750 Mi) − 0.5.
    assert.ok(Math.abs(a.cpu - 3.66) < 1e-9, String(a.cpu));
    assert.ok(Math.abs(a.memoryGiB - (28 - 3.32 - 750 / 1024 - 0.5)) < 1e-9, String(a.memoryGiB));
  });

  it("says what does not fit, and stays silent for what does and for sizes it does not know", () => {
    assert.equal(gpuNodeFitProblem("Standard_NC4as_T4_v3", 2, 8), undefined);
    assert.match(gpuNodeFitProblem("Standard_NC4as_T4_v3", 4, 8) ?? "", /cpuCores 4 > 3\.66 allocatable of 4 vCPUs/);
    assert.match(gpuNodeFitProblem("Standard_NC4as_T4_v3", 1, 28) ?? "", /memoryGb 28 > 23\.\d GiB allocatable of 28 GiB/);
    assert.equal(gpuNodeFitProblem("Standard_ND_future_v9", 400, 4000), undefined);
  });

  it("the policy is advisory, passes the prod stack, and warns for a GPU service too big for its pool", async () => {
    assert.equal(rule.enforcementLevel, "advisory");
    const prod = stackConfig("prod");
    assert.deepEqual(rule.stack!(asRes((await Plan.of(prod)).resources)), []);
    const services = prod.services.map((s) => (s.name === "regressor-gpu" ? { name: s.name, models: ["samples/models/regressor.onnx"], cpuCores: 4, memoryGb: 8, gpuCores: 1 } : undefined)).filter(Boolean);
    const big = await Plan.of(stackConfig("prod", { "aks-inference:services": services }));
    const [v] = rule.stack!(asRes(big.resources));
    assert.match(v.message, /GPU model deployment 'svc-regressor-gpu-deployment' does not fit on a Standard_NC4as_T4_v3 node next to the system daemons \(cpuCores 4 > 3\.66/);
    assert.match(v.message, /pool 'gput4'/);
  });
});
