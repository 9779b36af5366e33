/**
 * Memory a replica needs per MB of request body, for each kind of handler a service can have: the
 * built-in ONNX handler (a JSON batch turned into a tensor), a JavaScript entry script (`run(input)`
 * gets the parsed body) and a Python one (`np.array(json.loads(raw_data)["data"])`, as Azure ML
 * scripts do). Each body is sent to a fresh replica (its own process, the production bundle); the
 * figure is the peak resident memory of the replica's process tree (the Python worker counted too)
 * over its idle memory, per MB of body. These factors, and the idle memory, are what
 * `core/decisions/payloadLimit.ts` sizes a service's body limit from.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "undici";
import { HANDLER_MEMORY, type HandlerKind } from "../core/decisions/payloadLimit";
import { pythonRuntimeDir } from "../scoring/pythonHandler";
import { BUNDLES } from "../scripts/bundle";
import { type BenchResult, bundled, pinned, stop, waitFor } from "./common";
import { resetTreePeak, treePeakBytes, treeRssBytes } from "./processTree";

const MB = 1024 * 1024;
const SIZES = [5, 10, 20];
const MODEL = path.join(__dirname, "..", "samples", "models", "regressor.onnx");

/**
 * Rows of 4 numbers (the sample regressor's input), written as scoring clients write them: floats
 * with 9 decimals; one-digit values (one-hot and categorical features), the densest valid JSON and
 * so the most values and arrays per MB; short floats, the most Python float objects per MB.
 */
export const ROWS = { floats: "[0.123456789, 1.123456789, 2.123456789, 3.123456789]", digits: "[1,0,0,1]", "short floats": "[0.5,1.5,2.5,3.5]" } as const;

/** The entry scripts measured: what Azure ML scripts do with a batch, and no more. */
export const SCRIPTS = {
  "score.js": "exports.init = () => {};\nexports.run = (input) => ({ rows: input.data.length });\n",
  "score.py": "import json\nimport numpy as np\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'rows': len(np.array(json.loads(raw_data)['data']))}\n",
} as const;

/** A JSON batch of about `mb` MB of `row`s. */
export function batch(mb: number, row: string): Buffer {
  const rows = Math.floor((mb * MB) / (row.length + 1));
  return Buffer.from(`{"data": [${Array(rows).fill(row).join(",")}]}`);
}

function python(): string {
  for (const p of [process.env.AKS_INFERENCE_PYTHON, "/usr/bin/python3", "python3"]) if (p && spawnSync(p, ["-c", "import numpy"]).status === 0) return p;
  throw new Error("no python3 with numpy for the Python replica");
}

const settle = () => new Promise((r) => setTimeout(r, 300));

/** Idle memory of a fresh replica of `kind` (after one small request), and its peak growth for a body of `mb` MB. */
async function measure(kind: HandlerKind, args: string[], mb: number, row: string): Promise<{ idle: number; growth: number; bytes: number }> {
  const bundle = bundled(path.join(__dirname, "replica-process.ts"), BUNDLES.scoring.external);
  // The worker and its compatibility packages sit next to the bundle, as in the environment image.
  cpSync(pythonRuntimeDir(), path.join(path.dirname(bundle), "python"), { recursive: true });
  const replica = pinned("0", process.execPath, [bundle, ...args], { env: { ...process.env, NODE_ENV: "production" } });
  try {
    const url = `${(await waitFor(replica, /READY (http:\/\/\S+)/, 60_000))[1]}/score`;
    const post = async (body: string | Buffer) => {
      const res = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${kind} ${mb} MB: ${res.statusCode} ${text.slice(0, 200)}`);
    };
    await post('{"data": [[1, 2, 3, 4]]}');
    const body = batch(mb, row);
    await settle();
    const idle = treeRssBytes(replica.pid!);
    resetTreePeak(replica.pid!);
    await post(body);
    return { idle, growth: treePeakBytes(replica.pid!) - idle, bytes: body.length };
  } finally {
    await stop(replica);
  }
}

export async function replicaMemory(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-mem-"));
  for (const [file, text] of Object.entries(SCRIPTS)) writeFileSync(path.join(dir, file), text);
  const kinds: [HandlerKind, string[]][] = [
    ["onnx", ["--dir", dir, "--onnx", MODEL]],
    ["javascript", ["--dir", dir, "--script", "score.js"]],
    ["python", ["--dir", dir, "--script", "score.py", "--python", python()]],
  ];
  const rows: BenchResult["rows"] = [];
  const over: string[] = [];
  try {
    for (const [kind, args] of kinds) {
      let idle = 0;
      let worst = 0;
      for (const [shape, row] of Object.entries(ROWS)) {
        for (const mb of SIZES) {
          const m = await measure(kind, args, mb, row);
          idle = Math.max(idle, m.idle);
          const factor = m.growth / m.bytes;
          worst = Math.max(worst, factor);
          rows.push({ metric: `${kind}, ${mb} MB of ${shape}: peak RSS growth per MB of body`, value: factor, unit: "MB/MB" });
        }
      }
      const sized = HANDLER_MEMORY[kind];
      rows.push({ metric: `${kind}: idle replica RSS (core/decisions/payloadLimit.ts baseline ${sized.baselineMb} MB)`, value: idle / MB, unit: "MB" });
      rows.push({ metric: `${kind}: memory factor, worst of sizes and shapes (core/decisions/payloadLimit.ts: ${sized.factor})`, value: worst, unit: "MB/MB" });
      if (worst > sized.factor || idle / MB > sized.baselineMb) over.push(kind);
    }
    return {
      name: "replica memory per MB of body",
      rows,
      notes: [
        `A fresh replica process (production bundle, one Python worker) per body, warmed with one small request; peak = sum of VmHWM of the process tree, reset before the request. Bodies: {"data": [...]} of rows of 4 numbers (${Object.entries(ROWS).map(([k, v]) => `${k} ${v}`).join(", ")}).`,
        ...(over.length ? [`Measured above what core/decisions/payloadLimit.ts sizes limits with, for ${over.join(", ")}: raise its figures.`] : []),
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
