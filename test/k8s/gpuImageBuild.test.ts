/**
 * The CUDA environment image, really built (Docker engine and registry access needed): it builds
 * from the arguments environmentKey gives a GPU service, runs the official Node.js on the CUDA
 * base, and carries onnxruntime-node's CUDA execution provider. Skipped, saying why, where there
 * is no Docker engine or the CUDA base cannot be pulled (as on the machine this was written on).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { CUDA_SCORING_IMAGES, SCORING_DOCKERFILE, environmentKey } from "../../packaging/project";
import { REPO_ROOT } from "../support/stacks";

const docker = (args: string[], timeout = 60_000) => spawnSync("docker", args, { cwd: REPO_ROOT, encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 });

describe("GPU environment image build (Docker)", function () {
  this.timeout(30 * 60_000);
  const tag = "aks-inference-env-gpu-test:latest";

  before(function () {
    const skip = (reason: string) => {
      console.log(`    (skipped: ${reason})`);
      this.skip();
    };
    if (docker(["info"]).status !== 0) return skip("no Docker engine answers `docker info`");
    if (docker(["pull", CUDA_SCORING_IMAGES.runtime], 10 * 60_000).status !== 0) return skip(`the CUDA base ${CUDA_SCORING_IMAGES.runtime} cannot be pulled`);
  });
  after(() => {
    docker(["rmi", "-f", tag]);
  });

  it("builds with a GPU service's arguments, and the image has Node.js and onnxruntime-node's CUDA provider", () => {
    const { buildArgs } = environmentKey({ environment: {}, entryScript: undefined, gpuCores: 1 }, REPO_ROOT);
    const build = docker(["build", "-f", SCORING_DOCKERFILE, "-t", tag, ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]), "."], 30 * 60_000);
    assert.equal(build.status, 0, build.stderr.slice(-2000));
    const check = docker([
      "run", "--rm", "--entrypoint", "node", tag, "-e",
      "const p=require('path'),fs=require('fs');const d=p.join(p.dirname(require.resolve('onnxruntime-node/package.json')),'bin/napi-v6/linux/x64');process.stdout.write(String(fs.existsSync(p.join(d,'libonnxruntime_providers_cuda.so'))))",
    ]);
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout, "true", "libonnxruntime_providers_cuda.so next to the binding");
  });
});
