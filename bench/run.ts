/**
 * `npm run bench`: every benchmark, one after another, then the summary table
 * (bench/results/summary.md) and the raw figures (bench/results/latest.json).
 * `npm run bench -- <name> [...]` (e.g. `fixed-rate`) runs only those and replaces their sections
 * in the last results, keeping the others as they were measured.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { autoscale } from "./autoscale";
import type { BenchResult } from "./common";
import { consumerInstall } from "./consumer-install";
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
  const benchmarks = [
    ["router overhead", routerOverhead],
    ["fixed rate", fixedRate],
    ["payload", payload],
    ["python bridge", pythonBridge],
    ["replica memory", replicaMemory],
    ["autoscale", autoscale],
    ["stack scale", stackScale],
    ["consumer install", consumerInstall],
  ] as const;
  const only = process.argv.slice(2).map((a) => a.replace(/-/g, " "));
  const unknown = only.filter((o) => !benchmarks.some(([name]) => name === o));
  if (unknown.length) throw new Error(`no benchmark ${unknown.map((u) => `'${u}'`).join(", ")}; there are ${benchmarks.map(([n]) => n.replace(/ /g, "-")).join(", ")}`);
  const dir = path.join(__dirname, "results");
  const latest = path.join(dir, "latest.json");
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const [name, run] of benchmarks) {
    if (only.length && !only.includes(name)) continue;
    console.error(`running ${name} ...`);
    try {
      results.push(await run());
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  // A partial run replaces its sections in the last results and keeps the rest; read now, not at
  // the start, so that a section another run wrote meanwhile (benchmarks take minutes) is kept.
  const previous = only.length && existsSync(latest) ? (JSON.parse(readFileSync(latest, "utf8")) as { results: BenchResult[] }).results : [];
  for (const old of previous) {
    const fresh = results.find((r) => r.name === old.name);
    const earlier = "Measured in an earlier run than the sections re-run since.";
    if (!fresh) results.splice(previous.indexOf(old), 0, { ...old, notes: old.notes.includes(earlier) ? old.notes : [...old.notes, earlier] });
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const ran = only.length ? `Re-run of ${only.join(", ")}: ${Math.round((Date.now() - started) / 1000)} s` : `Total run: ${Math.round((Date.now() - started) / 1000)} s`;
  const lines = [`# Benchmark results`, "", `Machine: ${machine}. ${ran}.`, ""];
  for (const r of results) {
    lines.push(`## ${r.name}`, "", "| metric | value |", "|---|---|", ...r.rows.map((row) => `| ${row.metric} | ${fmt(row.value)}${row.unit ? ` ${row.unit}` : ""}${row.iqr ? ` (IQR ${fmt(row.iqr[0])}–${fmt(row.iqr[1])})` : ""} |`), "", ...r.notes.map((n) => `_${n}_`), "");
  }
  if (failures.length) lines.push("## Not measured", "", ...failures.map((f) => `- ${f}`), "");
  const summary = lines.join("\n");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "summary.md"), summary);
  writeFileSync(latest, JSON.stringify({ machine, results, failures }, null, 2));
  console.log(summary);
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 2;
});
