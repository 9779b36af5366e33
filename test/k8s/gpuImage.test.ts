/**
 * The CUDA variant of the JavaScript/ONNX environment image: its build arguments, that the
 * Dockerfile consumes every one of them, that onnxruntime-node accepts the install option, and
 * that the prod stack's GPU service is built with them (offline plan; no Docker needed).
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { AKS_HOSTS } from "../../core/azure/requiredHosts";
import { CUDA_SCORING_IMAGES, DEFAULT_SCORING_BASE_IMAGE, SCORING_DOCKERFILE, environmentKey, type EnvironmentInput } from "../../packaging/project";
import { Plan, input, stackConfig, REPO_ROOT } from "../support/stacks";

const onnx = (gpuCores: number, environment: EnvironmentInput["environment"] = {}): EnvironmentInput => ({ environment, entryScript: undefined, gpuCores });
const dockerfile = readFileSync(path.join(REPO_ROOT, SCORING_DOCKERFILE), "utf8");

describe("GPU environment image (JavaScript / ONNX)", function () {
  this.timeout(120_000);

  it("builds GPU services on the CUDA runtime with onnxruntime-node's CUDA provider; CPU services as before", () => {
    assert.deepEqual(environmentKey(onnx(1), REPO_ROOT).buildArgs, {
      BASE_IMAGE: "mcr.microsoft.com/devcontainers/javascript-node:24",
      RUNTIME_BASE_IMAGE: "mcr.microsoft.com/mirror/nvcr/nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04",
      COPY_NODE: "true",
      ONNXRUNTIME_NODE_INSTALL: "cuda12",
    });
    assert.deepEqual(environmentKey(onnx(0), REPO_ROOT).buildArgs, { BASE_IMAGE: DEFAULT_SCORING_BASE_IMAGE });
    assert.notEqual(environmentKey(onnx(1), REPO_ROOT).hash, environmentKey(onnx(0), REPO_ROOT).hash, "a separate image");
    assert.equal(environmentKey(onnx(2), REPO_ROOT).hash, environmentKey(onnx(1), REPO_ROOT).hash, "one CUDA image whatever the GPU count");
    const custom = environmentKey(onnx(1, { baseImage: "myacr.azurecr.io/cuda:12.4", dependencies: "package.json" }), REPO_ROOT).buildArgs;
    assert.equal(custom.RUNTIME_BASE_IMAGE, "myacr.azurecr.io/cuda:12.4", "environment.baseImage replaces the CUDA runtime base");
    assert.equal(custom.DEPENDENCIES, "package.json");
  });

  it("has a Dockerfile that declares every argument environmentKey sets, and runs the CPU build unchanged by default", () => {
    const declared = new Map([...dockerfile.matchAll(/^ARG ([A-Z_]+)(?:=(.*))?$/gm)].map((m) => [m[1], m[2] ?? ""]));
    for (const arg of Object.keys(environmentKey(onnx(1), REPO_ROOT).buildArgs)) assert.ok(declared.has(arg), `ARG ${arg} missing`);
    assert.equal(declared.get("ONNXRUNTIME_NODE_INSTALL"), "skip", "CPU images do not download the CUDA provider");
    assert.equal(declared.get("COPY_NODE"), "false");
    assert.equal(declared.get("RUNTIME_BASE_IMAGE"), "${BASE_IMAGE}", "CPU images run on their build base");
    assert.match(dockerfile, /node node_modules\/onnxruntime-node\/script\/install\.js/);
  });

  it("uses an install option onnxruntime-node offers for linux/x64, through its own install script", () => {
    const pkg = path.dirname(require.resolve("onnxruntime-node/package.json"));
    const metadata = require(path.join(pkg, "script", "install-metadata.js")) as { requirements: Record<string, string[]> };
    assert.ok(metadata.requirements["linux/x64"].includes(CUDA_SCORING_IMAGES.onnxruntimeInstall));
    assert.match(readFileSync(path.join(pkg, "script", "install-utils.js"), "utf8"), /process\.env\.ONNXRUNTIME_NODE_INSTALL/, "the script reads the variable the Dockerfile sets");
  });

  it("takes its bases from MCR", () => {
    for (const image of [CUDA_SCORING_IMAGES.runtime, CUDA_SCORING_IMAGES.build]) assert.ok(AKS_HOSTS.includes(image.split("/")[0]), image);
  });

  it("is what the prod stack builds for its GPU service", async () => {
    const plan = await Plan.of(stackConfig("prod"));
    const args = plan.all("docker-build:index:Image").map((r) => input(r, "buildArgs") as Record<string, string> | undefined);
    assert.ok(args.some((a) => a?.RUNTIME_BASE_IMAGE === CUDA_SCORING_IMAGES.runtime && a.ONNXRUNTIME_NODE_INSTALL === "cuda12"), JSON.stringify(args));
    assert.ok(args.some((a) => a?.BASE_IMAGE === DEFAULT_SCORING_BASE_IMAGE && a.RUNTIME_BASE_IMAGE === undefined), "the CPU image stays");
  });
});
