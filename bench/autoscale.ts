/**
 * Autoscaling reaction in local mode (real router, real scoring replicas as processes): a step
 * load on a service whose requests take 100 ms; time from the load crossing the target to the
 * scale-up decision and to a new ready replica, time to scale down after the load stops, and
 * non-2xx answers over the whole run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig } from "../core/config";
import { readStackFile, stackFilePath } from "../core/config/stackFile";
import { startLocal } from "../local/main";
import type { BenchResult } from "./common";

const SCALE_DOWN_DELAY_MS = 10_000;

export async function autoscale(): Promise<BenchResult> {
  const repoRoot = path.resolve(__dirname, "..");
  const config = parseStackConfig(
    {
      ...readStackFile(stackFilePath("dev", repoRoot)),
      "aks-inference:services": [
        { name: "slow", sourceDirectory: "bench/fixtures/slow", entryScript: "score.js", authEnabled: false, autoscaleMinReplicas: 1, autoscaleMaxReplicas: 4, autoscaleTargetUtilization: 70, maxRequestWaitTimeMs: 10_000 },
      ],
    },
    "bench",
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-local-"));
  const local = await startLocal({ stack: "bench", port: 0, dir, repoRoot, config, autoscale: { scaleDownDelayMs: SCALE_DOWN_DELAY_MS } });
  const url = `${local.router.url}/api/v1/service/slow/score`;
  const since = (t: number) => (performance.now() - t) / 1000;
  try {
    while (local.status("slow").ready < 1) await new Promise((r) => setTimeout(r, 50));
    let stopLoad = false;
    let ok = 0;
    let failed = 0;
    const start = performance.now();
    const clients = Array.from({ length: 6 }, async () => {
      while (!stopLoad) {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => undefined);
        if (res?.status === 200) ok++;
        else failed++;
        await res?.arrayBuffer();
      }
    });
    let decided: number | undefined;
    let ready: number | undefined;
    while (since(start) < 15 && ready === undefined) {
      const s = local.status("slow");
      if (decided === undefined && s.desired > 1) decided = since(start);
      if (s.ready > 1) ready = since(start);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 3_000));
    const peak = local.status("slow").desired;
    stopLoad = true;
    await Promise.all(clients);
    const quiet = performance.now();
    let scaledDown: number | undefined;
    while (since(quiet) < SCALE_DOWN_DELAY_MS / 1000 + 10 && scaledDown === undefined) {
      if (local.status("slow").desired < peak) scaledDown = since(quiet);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      name: "autoscaling",
      rows: [
        { metric: "load start → scale-up decision", value: decided ?? "none", unit: "s" },
        { metric: "load start → new replica ready", value: ready ?? "none", unit: "s" },
        { metric: "replicas at peak (max 4)", value: peak },
        { metric: "load stop → scale-down decision", value: scaledDown ?? "none", unit: "s" },
        { metric: "requests answered 200", value: ok },
        { metric: "non-2xx / failed requests", value: failed },
      ],
      notes: [
        `6 clients against 1 replica (100 ms per request, 1 concurrent request per replica): utilization is above the 70 % target from the first request. Scale-down delay shortened from 60 s to ${SCALE_DOWN_DELAY_MS / 1000} s for the run (the decision logic is the same).`,
      ],
    };
  } finally {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
