/**
 * The v1 service folders of test/fixtures/v1/services, completed as `az ml model download` and the
 * team's repository would: each gets its entry script from an Azure ML sample under
 * test/fixtures/aml/ (`source/score.py`) and that sample's model, trained by the sample's
 * train.py with Debian's Python, under `models/<name>/<version>/` (see test/fixtures/v1/README.md).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

export const PYTHON = "/usr/bin/python3";
export const V1_FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "v1", "services");
const AML = path.join(REPO_ROOT, "test", "fixtures", "aml");

/** Which sample each fixture service runs, and which of its models at which versions. */
/** Which sample each fixture service runs, and which of its models (the file train.py writes below the model's folder) at which versions. */
export const SAMPLE_OF: Record<string, { sample: string; models: { name: string; file: string; versions: number[] } }> = {
  diabetes: { sample: "mlopspython-diabetes", models: { name: "diabetes_regression_model.pkl", file: "diabetes_regression_model.pkl", versions: [1] } },
  "mnist-token": { sample: "quickstart-plain", models: { name: "sklearn_mnist_model", file: "model/model.pkl", versions: [1] } },
  "vision-gpu": { sample: "quickstart-plain", models: { name: "sklearn_mnist_model", file: "model/model.pkl", versions: [1] } },
  "fraud-endpoint": { sample: "mlopspython-diabetes", models: { name: "diabetes_regression_model.pkl", file: "diabetes_regression_model.pkl", versions: [1, 2] } },
  "digits-export": { sample: "quickstart-plain", models: { name: "sklearn_mnist_model", file: "model/model.pkl", versions: [1] } },
};

/** What Debian's Python lacks to train and serve the samples, or undefined. */
export function missingPython(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const probe = spawnSync(PYTHON, ["-c", "import sklearn, joblib, numpy"], { encoding: "utf8" });
  return probe.status === 0 ? undefined : `${PYTHON} cannot import scikit-learn, joblib and numpy (apt-get install python3-sklearn python3-joblib python3-numpy)`;
}

export interface Assembled {
  /** The folder holding one folder per service, as a team would pass it to import-v1. */
  dir: string;
  /** Per sample: the request inputs and the exact answer bodies the upstream server gives (train.py's inputs.json, expected.json). */
  trained: Record<string, { inputs: Record<string, unknown>; expected: Record<string, string> }>;
}

/**
 * Copies the fixtures to a temporary folder and completes them with their samples' sources and
 * trained models; `train: false` puts a placeholder file where the model goes (for tests that
 * never load it).
 */
export function assemble(services: readonly string[] = Object.keys(SAMPLE_OF), opts: { train: boolean } = { train: true }): Assembled {
  const dir = tempDir("v1-services");
  const trainedBySample = new Map<string, string>();
  const trained: Assembled["trained"] = {};
  for (const svc of services) {
    const { sample, models } = SAMPLE_OF[svc];
    if (opts.train && !trainedBySample.has(sample)) {
      const out = tempDir(`v1-trained-${sample}`);
      const run = spawnSync(PYTHON, [path.join(AML, sample, "train.py"), out], { encoding: "utf8", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
      assert.equal(run.status, 0, `${sample}/train.py failed:\n${run.stderr}`);
      trainedBySample.set(sample, out);
      trained[sample] = { inputs: JSON.parse(readFileSync(path.join(out, "inputs.json"), "utf8")), expected: JSON.parse(readFileSync(path.join(out, "expected.json"), "utf8")) };
    }
    const target = path.join(dir, svc);
    cpSync(path.join(V1_FIXTURES, svc), target, { recursive: true });
    mkdirSync(path.join(target, "source"), { recursive: true });
    cpSync(path.join(AML, sample, "score.py"), path.join(target, "source", "score.py"));
    // train.py writes <out>/<model name>/<file or folder>: what `az ml model download` puts in the target folder.
    const out = trainedBySample.get(sample);
    for (const version of models.versions) {
      const modelDir = path.join(target, "models", models.name, String(version));
      mkdirSync(path.dirname(path.join(modelDir, models.file)), { recursive: true });
      if (!out) writeFileSync(path.join(modelDir, models.file), `placeholder of ${models.name}:${version}\n`);
      else for (const entry of readdirSync(path.join(out, models.name))) cpSync(path.join(out, models.name, entry), path.join(modelDir, entry), { recursive: true });
    }
  }
  return { dir, trained };
}
