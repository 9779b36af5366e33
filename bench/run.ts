/**
 * `npm run bench`: every benchmark, one after another, then the summary table
 * (bench/results/summary.md) and the raw figures (bench/results/latest.json).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { autoscale } from "./autoscale";
import type { BenchResult } from "./common";
import { fixedRate } from "./fixed-rate";
import { payload } from "./payload";
import { pythonBridge } from "./python-bridge";
import { replicaMemory } from "./replica-memory";
import { routerOverhead } from "./router-overhead";
import { stackScale } from "./stack-scale";

function fmt(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

async function main(): Promise<void> {
  // Local mode (the autoscaling benchmark) logs every decision at info: keep the run's output to the results.
  process.env.LOG_LEVEL ??= "warn";
  const started = Date.now();
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const [name, run] of [
    ["router overhead", routerOverhead],
    ["fixed rate", fixedRate],
    ["payload", payload],
    ["python bridge", pythonBridge],
    ["replica memory", replicaMemory],
    ["autoscale", autoscale],
    ["stack scale", stackScale],
  ] as const) {
    console.error(`running ${name} ...`);
    try {
      results.push(await run());
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const lines = [`# Benchmark results`, "", `Machine: ${machine}. Total run: ${Math.round((Date.now() - started) / 1000)} s.`, ""];
  for (const r of results) {
    lines.push(`## ${r.name}`, "", "| metric | value |", "|---|---|", ...r.rows.map((row) => `| ${row.metric} | ${fmt(row.value)}${row.unit ? ` ${row.unit}` : ""} |`), "", ...r.notes.map((n) => `_${n}_`), "");
  }
  if (failures.length) lines.push("## Not measured", "", ...failures.map((f) => `- ${f}`), "");
  const summary = lines.join("\n");
  const dir = path.join(__dirname, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "summary.md"), summary);
  writeFileSync(path.join(dir, "latest.json"), JSON.stringify({ machine, results, failures }, null, 2));
  console.log(summary);
  if (failures.length) process.exitCode = 1;
}

void main();
