/**
 * Memory a replica needs per MB of request body: a JSON batch (`{"data": [[...], ...]}`) of 10 and
 * 50 MB sent to a replica whose entry script parses it, JavaScript (`run(input)` gets the parsed
 * body) and Python (`json.loads(raw_data)` in score.py, as Azure ML scripts do). Peak RSS growth
 * over the idle replica (the Python worker counted too), per MB of body. These factors are what
 * `core/payloadLimit.ts` sizes a service's body limit from.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "undici";
import { pythonRuntimeDir } from "../scoring/pythonHandler";
import { BUNDLES } from "../scripts/bundle";
import { type BenchResult, bundled, pinned, rssKb, stop, waitFor } from "./common";

const MB = 1024 * 1024;
const SIZES = [10, 50];

/** A JSON batch of about `mb` MB: rows of 10 floats, as scoring clients send them. */
function batch(mb: number): Buffer {
  const row = `[${Array.from({ length: 10 }, (_, i) => (0.123456789 + i).toFixed(9)).join(", ")}]`;
  const rows = Math.floor((mb * MB) / (row.length + 2));
  return Buffer.from(`{"data": [${Array(rows).fill(row).join(", ")}]}`);
}

/** RSS of a process and all its children (the Python workers), in KB. */
function treeRssKb(pid: number): number {
  let total = rssKb(pid);
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let children = "";
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean)) total += treeRssKb(Number(child));
  }
  return total;
}

function python(): string {
  for (const p of [process.env.AKS_INFERENCE_PYTHON, "/usr/bin/python3", "python3"]) if (p && spawnSync(p, ["-c", "pass"]).status === 0) return p;
  throw new Error("no python3 for the Python replica");
}

async function measure(kind: "JavaScript" | "Python", dir: string, script: string): Promise<BenchResult["rows"]> {
  const bundle = bundled(path.join(__dirname, "replica-process.ts"), BUNDLES.scoring.external);
  // The worker and its compatibility packages sit next to the bundle, as in the environment image.
  cpSync(pythonRuntimeDir(), path.join(path.dirname(bundle), "python"), { recursive: true });
  const replica = pinned("0", process.execPath, [bundle, "--dir", dir, "--script", script, "--python", python()], { env: { ...process.env, NODE_ENV: "production" } });
  const rows: BenchResult["rows"] = [];
  try {
    const url = `${(await waitFor(replica, /READY (http:\/\/\S+)/, 60_000))[1]}/score`;
    await (await request(url, { method: "POST", body: '{"data": [[1]]}', headers: { "content-type": "application/json" } })).body.text();
    for (const mb of SIZES) {
      const body = batch(mb);
      await new Promise((r) => setTimeout(r, 500));
      const idle = treeRssKb(replica.pid!);
      let peak = idle;
      const sampler = setInterval(() => (peak = Math.max(peak, treeRssKb(replica.pid!))), 20);
      const res = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      const text = await res.body.text();
      clearInterval(sampler);
      if (res.statusCode !== 200) throw new Error(`${kind} ${mb} MB: ${res.statusCode} ${text.slice(0, 200)}`);
      rows.push({ metric: `${kind}, ${mb} MB JSON: peak RSS growth per MB of body`, value: (peak - idle) / 1024 / (body.length / MB), unit: "MB/MB" });
    }
  } finally {
    await stop(replica);
  }
  return rows;
}

export async function replicaMemory(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-mem-"));
  writeFileSync(path.join(dir, "score.js"), "exports.init = () => {};\nexports.run = (input) => ({ rows: input.data.length });\n");
  writeFileSync(path.join(dir, "score.py"), "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'rows': len(json.loads(raw_data)['data'])}\n");
  try {
    return {
      name: "replica memory per MB of body",
      rows: [...(await measure("JavaScript", dir, "score.js")), ...(await measure("Python", dir, "score.py"))],
      notes: ["One replica process (production bundle) with one Python worker; RSS of the process tree sampled every 20 ms from /proc; bodies are rows of 10 floats."],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
