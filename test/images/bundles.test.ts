/**
 * The programs as the images run them: the esbuild bundles of scripts/bundle.ts, started with
 * plain node. Local mode and the other tests run the TypeScript sources; this is where a
 * dependency that breaks only when bundled shows up, without Docker (`npm run build-images`
 * runs the images themselves).
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { parseStackConfig } from "../../core/config";
import { SCORING_ENV } from "../../core/contracts/naming";
import { startAzurite, type Azurite } from "../../local/azurite";
import { freePort } from "../../local/ports";
import { waitReady } from "../../local/probe";
import { createBlobContainers, replicaEnv, uploadService } from "../../packaging/upload";
import { regressorOutput } from "../../samples/make-regressor";
import { bundle } from "../../scripts/bundle";
import { REPO_ROOT, rawStack } from "../support/stacks";
import { tempDir } from "../support/tmp";

// Inside the repository, so the scoring bundle finds onnxruntime-node as the image's /app does.
const OUT = path.join(REPO_ROOT, "dist", "bundles");

describe("the images' programs, bundled as shipped", function () {
  this.timeout(60_000);

  it("router: starts, and outside a cluster refuses to run with its message", () => {
    const file = path.join(OUT, "router.js");
    bundle("router", file);
    const env = { ...process.env };
    delete env.KUBERNETES_SERVICE_HOST;
    const r = spawnSync(process.execPath, [file], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /router failed to start.*runs in a Kubernetes pod/);
  });

  describe("scoring server", () => {
    let azurite: Azurite;
    before(async () => {
      azurite = await startAzurite(tempDir("bundle-azurite"));
    });
    after(() => azurite.stop());

    it("downloads the sample model from storage, becomes ready and scores", async () => {
      const file = path.join(OUT, "scoring.js");
      bundle("scoring", file);
      const blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
      await createBlobContainers(blob);
      const regressor = parseStackConfig(rawStack("dev"), "dev").services.find((s) => s.name === "regressor")!;
      const up = await uploadService(regressor, REPO_ROOT, blob);
      const port = await freePort();
      const child = spawn(process.execPath, [file], {
        env: {
          ...process.env,
          ...replicaEnv(regressor, up, azurite.connectionString),
          [SCORING_ENV.port]: String(port),
          [SCORING_ENV.replicaId]: "bundle-check",
          [SCORING_ENV.collectModelData]: "false",
          [SCORING_ENV.workDir]: tempDir("bundle-work"),
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      try {
        const ready = await waitReady(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 30_000, alive: () => child.exitCode === null });
        assert.ok(ready, `the bundled scoring server never became ready (exit ${child.exitCode}): ${stderr.slice(-1000)}`);
        const res = await fetch(`http://127.0.0.1:${port}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ data: [[1, 2, 3, 4]] }) });
        const out = ((await res.json()) as { output: number[][] }).output[0][0];
        assert.ok(Math.abs(out - regressorOutput([1, 2, 3, 4])) < 1e-5);
      } finally {
        child.kill("SIGTERM");
      }
    });
  });
});
