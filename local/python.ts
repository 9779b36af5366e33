/**
 * Which Python interpreter runs a Python service in local mode. On a cluster the environment
 * image has the service's conda/pip environment; on a developer's machine several Pythons may
 * exist and only some see the environment's packages (here the `python3` first on PATH does not
 * see Debian's scikit-learn; `/usr/bin/python3` does). So: the interpreter named in the config,
 * else the first candidate that can import every package the environment lists; when none can,
 * the service fails at start naming the missing module and the command that installs it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { ModelServiceConfig } from "../core/config";

/** Interpreters tried, in order, when the config names none. */
export const PYTHON_CANDIDATES = ["python3", "/usr/bin/python3", "/usr/local/bin/python3"] as const;

/** Distribution names whose import name differs, for the packages Azure ML v1 environments list most. */
const IMPORT_NAMES: Record<string, string> = {
  "scikit-learn": "sklearn",
  pyyaml: "yaml",
  pillow: "PIL",
  "opencv-python": "cv2",
  "opencv-python-headless": "cv2",
  "python-dateutil": "dateutil",
  beautifulsoup4: "bs4",
  pytorch: "torch",
  "tensorflow-gpu": "tensorflow",
  protobuf: "google.protobuf",
  "onnxruntime-gpu": "onnxruntime",
  "py-xgboost": "xgboost",
};

/**
 * The Azure ML distributions the scoring server stands in for (scoring/python/compat/, placed
 * last on a worker's sys.path), with what of each: an environment listing them needs nothing more
 * from them. Every other `azureml-*` distribution (azureml-automl-runtime, azureml-telemetry,
 * azureml-dataprep, ...: what AutoML-generated scripts import) is a package like any other,
 * checked by its import name, and installed by the image from the service's conda file.
 */
export const STAND_INS: Readonly<Record<string, string>> = {
  "azureml-defaults": "the scoring server itself, with the stand-ins below",
  "azureml-inference-server-http": "the scoring server itself; azureml_inference_server_http.api.aml_request and aml_response",
  "azureml-core": "azureml.core.model.Model.get_model_path and azureml.exceptions, nothing else of azureml.core",
  "azureml-contrib-services": "azureml.contrib.services.aml_request (rawhttp, AMLRequest) and aml_response (AMLResponse)",
  "azureml-monitoring": "azureml.monitoring.ModelDataCollector (it keeps nothing: collectModelData records requests)",
  "inference-schema": "inference_schema's decorators and numpy, pandas and standard parameter types",
};

/** Packages that need no check: the interpreter and its installer, and the stand-ins. */
function provided(name: string): boolean {
  return name === "python" || name === "pip" || name === "setuptools" || name === "wheel" || name.replace(/_/g, "-") in STAND_INS;
}

/** `azureml-automl-runtime` → `azureml.automl.runtime`: Azure ML's distributions are namespace packages under `azureml`. */
function azuremlImportName(name: string): string | undefined {
  return /^azureml-[a-z0-9-]+$/.test(name) ? name.replace(/-/g, ".") : undefined;
}

/** `scikit-learn==1.2.2`, `numpy>=1.21 ; python_version>"3"`, `pandas[performance]`, `conda-forge::numpy=1.24` → the bare name. */
function distribution(spec: string): string | undefined {
  const bare = spec.trim().replace(/^[\w-]+::/, "").split(/[\s=<>!~;[@]/)[0].toLowerCase();
  return bare && !bare.startsWith("-") && !bare.startsWith("#") ? bare : undefined;
}

/** Import names of a distribution list, without those the scoring server provides. */
export function importNames(distributions: readonly string[]): string[] {
  const out = new Set<string>();
  for (const spec of distributions) {
    const name = distribution(spec);
    if (!name || provided(name)) continue;
    out.add(IMPORT_NAMES[name] ?? azuremlImportName(name) ?? name.replace(/-/g, "_"));
  }
  return [...out];
}

/** Distributions listed by a conda file (conda dependencies and its `pip:` section). */
export function condaDistributions(condaYaml: string): string[] {
  const doc = parseYaml(condaYaml) as { dependencies?: unknown[] } | null;
  const out: string[] = [];
  for (const dep of doc?.dependencies ?? []) {
    if (typeof dep === "string") out.push(dep);
    else if (dep && typeof dep === "object" && Array.isArray((dep as { pip?: unknown }).pip)) out.push(...((dep as { pip: unknown[] }).pip.filter((p): p is string => typeof p === "string")));
  }
  return out;
}

/** Distributions listed by a requirements file (options and comments skipped). */
export function requirementDistributions(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter((l) => l && !l.startsWith("-"));
}

/** The import names a service's environment needs, and how to install them. */
export function environmentNeeds(env: ModelServiceConfig["environment"], repoRoot: string): { modules: string[]; install?: string } {
  if (env.condaFile) {
    return { modules: importNames(condaDistributions(readFileSync(path.resolve(repoRoot, env.condaFile), "utf8"))), install: `conda env create -f ${env.condaFile}` };
  }
  if (env.pipRequirements) {
    return { modules: importNames(requirementDistributions(readFileSync(path.resolve(repoRoot, env.pipRequirements), "utf8"))), install: `pip install -r ${env.pipRequirements}` };
  }
  return { modules: [] };
}

/** Modules `python` cannot find, or undefined when `python` does not run. */
export type Probe = (python: string, modules: readonly string[]) => string[] | undefined;

/** Asks the interpreter itself which of `modules` it cannot find (without importing them). */
export const probeInterpreter: Probe = (python, modules) => {
  // A dotted name (azureml.automl.runtime) is looked up whole: another azureml-* package
  // installing the `azureml` namespace must not count for it. Its parents are imported to find it.
  const script = [
    "import importlib.util, json, sys",
    "def found(m):",
    "    try:",
    "        return importlib.util.find_spec(m) is not None",
    "    except Exception:",
    "        return False",
    "print(json.dumps([m for m in json.loads(sys.argv[1]) if not found(m)]))",
  ].join("\n");
  const r = spawnSync(python, ["-c", script, JSON.stringify(modules)], { encoding: "utf8", timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as string[];
};

export type InterpreterChoice = { python: string } | { error: string };

/**
 * The interpreter for a service: `configured` when given (it must run and see the modules),
 * else the first candidate that sees every module.
 */
export function chooseInterpreter(modules: readonly string[], opts: { configured?: string; install?: string; candidates?: readonly string[]; probe?: Probe }): InterpreterChoice {
  const probe = opts.probe ?? probeInterpreter;
  const candidates = opts.configured ? [opts.configured] : (opts.candidates ?? PYTHON_CANDIDATES);
  const tried: { python: string; missing?: string[] }[] = [];
  for (const python of candidates) {
    const missing = probe(python, modules);
    if (missing && missing.length === 0) return { python };
    tried.push({ python, missing });
  }
  const runs = tried.filter((t) => t.missing !== undefined);
  if (runs.length === 0) return { error: `no Python interpreter found (tried ${candidates.join(", ")}); install Python 3 or set environment.python` };
  const best = runs.reduce((a, b) => (b.missing!.length < a.missing!.length ? b : a));
  const missing = best.missing!;
  const how = opts.install ? `install the environment (${opts.install}) and set environment.python to its interpreter` : "install it";
  const also = missing.length > 1 ? ` (also missing: ${missing.slice(1).map((m) => `'${m}'`).join(", ")})` : "";
  // An azureml module the stand-ins do not cover is not a bug of local mode: say what they cover.
  const azureml = missing.some((m) => m.startsWith("azureml."))
    ? `; the scoring server stands in only for ${Object.keys(STAND_INS).join(", ")}, other azureml-* packages (AutoML's among them) come from the environment`
    : "";
  return {
    error: `No module named '${missing[0]}'${also} for ${best.python}${runs.length > 1 ? ` (nor for ${runs.filter((t) => t !== best).map((t) => t.python).join(", ")})` : ""}: ${how}${azureml}`,
  };
}
