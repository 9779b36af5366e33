/** Evaluating the stack (offline, under mocks) with 10, 100 and 1,000 model services. */
import { parseStackConfig } from "../core/config";
import { readStackFile, stackFilePath } from "../core/config/stackFile";
import { runOffline } from "../scripts/offline";
import type { BenchResult } from "./common";

export async function stackScale(): Promise<BenchResult> {
  const base = readStackFile(stackFilePath("dev", `${__dirname}/..`));
  const rows: BenchResult["rows"] = [];
  let previous: number | undefined;
  for (const n of [10, 100, 1000]) {
    const services = Array.from({ length: n }, (_, i) => ({ name: `svc-${i}`, models: ["samples/models/regressor.onnx"], autoscaleMaxReplicas: 3 }));
    const cfg = parseStackConfig({ ...base, "aks-inference:services": services }, "scale");
    const t = performance.now();
    const resources = await runOffline(cfg, { preview: true });
    const seconds = (performance.now() - t) / 1000;
    rows.push({ metric: `${n} services: resources`, value: resources.length });
    rows.push({ metric: `${n} services: evaluation`, value: seconds, unit: "s" });
    if (previous !== undefined) rows.push({ metric: `${n} services: growth vs ${n / 10}`, value: seconds / previous, unit: "×" });
    previous = seconds;
  }
  return { name: "stack scale", rows, notes: ["`runOffline` in preview mode (as `pulumi preview`), each service with one shared model, key auth, autoscaling."] };
}
