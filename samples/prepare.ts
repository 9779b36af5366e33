/**
 * Sample models that are trained on this machine instead of committed: a scikit-learn pickle
 * only loads reliably under the scikit-learn version that wrote it. Runs at `npm ci` (the
 * package's `prepare` script), when local mode starts and before the tests, and does nothing
 * when the model is already there. Without a Python that has scikit-learn it says so and leaves
 * the model missing; local mode then reports the service as failed with the same reason.
 *
 *   npx tsx samples/prepare.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { chooseInterpreter } from "../local/python";

/** Each trained sample: its training script, the file it writes, and what it imports. */
export const TRAINED_SAMPLES = [
  { script: "samples/diabetes/train.py", output: "samples/diabetes/model/sklearn_regression_model.pkl", modules: ["sklearn", "joblib"] },
] as const;

/**
 * Trains the sample models that are missing (only those in `modelPaths` when given, e.g. the
 * models of the stack local mode is starting); returns the problems (empty when all exist).
 */
export function prepareSamples(repoRoot: string, modelPaths?: readonly string[]): string[] {
  const problems: string[] = [];
  for (const s of TRAINED_SAMPLES) {
    if (modelPaths && !modelPaths.includes(s.output)) continue;
    const output = path.join(repoRoot, s.output);
    if (existsSync(output)) continue;
    const choice = chooseInterpreter(s.modules, { install: "apt-get install python3-sklearn python3-joblib" });
    if ("error" in choice) {
      problems.push(`${s.output} not trained: ${choice.error}`);
      continue;
    }
    const r = spawnSync(choice.python, [path.join(repoRoot, s.script), output], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) problems.push(`${s.script} failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
  }
  return problems;
}

if (require.main === module) {
  for (const p of prepareSamples(path.resolve(__dirname, ".."))) console.warn(`samples: ${p}`);
}
