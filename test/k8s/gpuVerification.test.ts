/**
 * The GPU pool verification Job: rendered on the pool, waited for with a bound, wired after the
 * NVIDIA device plugin and before the pool's GPU services (under mocks; no cluster, no GPU), and
 * its check script run against fake `nvidia-smi` programs.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { GPU_CHECK_IMAGE, GPU_CHECK_SCRIPT } from "../../components/k8s/gpuVerification";
import { ConfigError, parseStackConfig } from "../../core/config";
import { SCORING_ENV } from "../../core/contracts/naming";
import { AKS_HOSTS } from "../../core/azure/requiredHosts";
import { rules } from "../../policies/rules";
import { Plan, asRes, input, rawStack, stackConfig } from "../support/stacks";
import { tempDir } from "../support/tmp";

const JOB = "kubernetes:batch/v1:Job";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("GPU pool verification Job", function () {
  this.timeout(120_000);
  let plan: Plan;
  before(async () => {
    plan = await Plan.of(stackConfig("prod"));
  });

  it("runs nvidia-smi -L on the pool: its taint tolerated, its label selected, one GPU requested", () => {
    const job = plan.one(JOB);
    assert.match(String(input(job, "metadata", "name")), /^gpu-verify-gput4-[0-9a-f]{8}$/);
    const pod = input(job, "spec", "template", "spec") as Record<string, unknown>;
    assert.deepEqual(pod.tolerations, [{ key: "nvidia.com/gpu", operator: "Equal", value: "present", effect: "NoSchedule" }]);
    assert.deepEqual(pod.nodeSelector, { "aks-inference/gpu-pool": "gput4" });
    assert.equal(pod.restartPolicy, "Never");
    assert.equal(input(job, "spec", "template", "spec", "containers", 0, "image"), GPU_CHECK_IMAGE);
    assert.deepEqual(input(job, "spec", "template", "spec", "containers", 0, "command"), ["sh", "-c", GPU_CHECK_SCRIPT]);
    assert.equal(input(job, "spec", "template", "spec", "containers", 0, "resources", "limits", "nvidia.com/gpu"), "1");
    assert.equal(input(job, "spec", "template", "spec", "containers", 0, "terminationMessagePolicy"), "FallbackToLogsOnError");
  });

  it("is waited for, with a bound (10 minutes on a pool with a node)", () => {
    const job = plan.one(JOB);
    assert.equal(input(job, "metadata", "annotations", "pulumi.com/skipAwait"), "false");
    assert.equal(input(job, "metadata", "annotations", "pulumi.com/timeoutSeconds"), "600");
    assert.equal(input(job, "spec", "activeDeadlineSeconds"), 600);
  });

  it("comes after the device plugin and before the GPU service, and CPU services do not wait for it", () => {
    const job = plan.one(JOB);
    const plugin = plan.one("kubernetes:apps/v1:DaemonSet");
    assert.ok(plan.dependsOn(job, plugin), "the Job waits for the device plugin");
    assert.ok(plan.dependsOn(plan.one(DEPLOYMENT, "svc-regressor-gpu-deployment"), job), "the GPU service waits for the Job");
    assert.ok(!plan.dependsOn(plan.one(DEPLOYMENT, "svc-echo-deployment"), job), "a CPU service does not");
  });

  it("pulls its image from a registry the firewall allows", () => {
    assert.ok(AKS_HOSTS.includes(GPU_CHECK_IMAGE.split("/")[0]));
    const check = rules.find((r) => r.name === "images-pulled-through-the-firewall")!;
    assert.deepEqual(check.stack!(asRes(plan.resources)).map((v) => v.message), []);
  });

  it("hands the GPU service its GPU request and fallback switch, and CPU services nothing", () => {
    const env = (name: string) => Object.fromEntries((input(plan.one(DEPLOYMENT, name), "spec", "template", "spec", "containers", 0, "env") as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    const gpu = env("svc-regressor-gpu-deployment");
    assert.equal(gpu[SCORING_ENV.gpuCores], "1");
    assert.equal(gpu[SCORING_ENV.gpuFallbackToCpu], "false");
    assert.equal(gpu[SCORING_ENV.gpuPool], "gput4");
    assert.equal(env("svc-echo-deployment")[SCORING_ENV.gpuCores], undefined);
  });

  it("waits 20 minutes on a pool that may have no node, and is skipped with verifyOnDeploy: false", async () => {
    const pool = (over: Record<string, unknown>) => ({ "aks-inference:gpuPools": [{ name: "gput4", vmSize: "Standard_NC4as_T4_v3", count: 0, ...over }] });
    const scaleFromZero = await Plan.of(stackConfig("prod", pool({ minCount: 0, maxCount: 3 })));
    assert.equal(input(scaleFromZero.one(JOB), "metadata", "annotations", "pulumi.com/timeoutSeconds"), "1200");
    const skipped = await Plan.of(stackConfig("prod", pool({ count: 1, verifyOnDeploy: false })));
    assert.equal(skipped.all(JOB).length, 0);
    assert.equal(skipped.all("kubernetes:apps/v1:DaemonSet").length, 1, "the device plugin stays");
  });

  it("refuses a verifyOnDeploy that is not a boolean, naming the key", () => {
    const raw = { ...rawStack("prod"), "aks-inference:gpuPools": [{ name: "gput4", vmSize: "Standard_NC4as_T4_v3", verifyOnDeploy: "yes" }] };
    assert.throws(() => parseStackConfig(raw, "prod"), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith("aks-inference:gpuPools[0].verifyOnDeploy: ")));
  });
});

describe("GPU check script", () => {
  /** Runs the Job's script with a fake `nvidia-smi` printing `out` and exiting with `code`. */
  async function check(out: string, code: number): Promise<{ code: number; stdout: string; stderr: string }> {
    const bin = tempDir("fake-nvidia-smi");
    const fake = path.join(bin, "nvidia-smi");
    writeFileSync(fake, `#!/bin/sh\n[ "$1" = "-L" ] || exit 64\nprintf '%s\\n' '${out}'\nexit ${code}\n`);
    chmodSync(fake, 0o755);
    try {
      const { stdout, stderr } = await promisify(execFile)("sh", ["-c", GPU_CHECK_SCRIPT], { env: { PATH: `${bin}:/usr/bin:/bin` } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it("succeeds and prints the GPUs when nvidia-smi lists one", async () => {
    const r = await check("GPU 0: Tesla T4 (UUID: GPU-1)", 0);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /GPU 0: Tesla T4/);
  });

  it("fails when nvidia-smi lists no GPU or fails itself", async () => {
    const none = await check("No devices found.", 0);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no GPU listed/);
    assert.equal((await check("NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.", 9)).code, 9);
  });
});
