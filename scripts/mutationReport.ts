/**
 * `npm run mutate:report -- [report.json ...]`: merges Stryker JSON reports (default
 * `reports/mutation/mutation.json`, the one `npm run mutate` writes) into the committed record
 * `bench/results/mutation.json`, file by file, and rewrites the per-file tables in
 * `bench/results/mutation.md` and `docs/mutation-testing.md` from it. Runs are often per file or group of files
 * (a full run takes longer than a working session on 2 cores): merging keeps the other files'
 * last results instead of losing them.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

interface Mutant {
  status: string;
  killedBy?: unknown;
  coveredBy?: unknown;
  testsCompleted?: unknown;
  [key: string]: unknown;
}
interface FileResult {
  language: string;
  source: string;
  mutants: Mutant[];
}
interface Report {
  schemaVersion: string;
  thresholds: unknown;
  framework?: unknown;
  files: Record<string, FileResult>;
  [key: string]: unknown;
}

const ROOT = path.resolve(__dirname, "..");
const RECORD = path.join(ROOT, "bench/results/mutation.json");
const TABLE_MD = path.join(ROOT, "bench/results/mutation.md");
const DOC = path.join(ROOT, "docs/mutation-testing.md");
const TARGET = 85;

const STATUSES = ["Killed", "Survived", "NoCoverage", "Timeout", "CompileError", "Ignored"] as const;
type Counts = Record<(typeof STATUSES)[number], number>;

export function countsOf(f: FileResult): Counts {
  const c = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Counts;
  for (const m of f.mutants) if (m.status in c) c[m.status as keyof Counts]++;
  return c;
}

/** Stryker's mutation score over covered and uncovered mutants: (killed + timeout) / counted. */
export function scoreOf(c: Counts): { counted: number; score: number } {
  const counted = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  return { counted, score: counted === 0 ? 100 : (100 * (c.Killed + c.Timeout)) / counted };
}

/**
 * The reports' files merged into the record, with the per-test fields dropped: test ids differ
 * between runs and would make every merge a diff. Only files `mutated` names are kept: a file
 * moved or deleted since a run (an old report, or the record's own entry) is not the file now.
 */
export function mergeReports(record: Report, reports: Report[], mutated: readonly string[]): Report {
  const files = { ...record.files };
  for (const r of reports) {
    for (const [file, result] of Object.entries(r.files)) {
      files[file] = { language: result.language, source: result.source, mutants: result.mutants.map(({ killedBy, coveredBy, testsCompleted, ...m }) => m) };
    }
  }
  const kept = new Set(mutated);
  const sorted = Object.fromEntries(Object.keys(files).filter((f) => kept.has(f)).sort().map((f) => [f, files[f]]));
  return { schemaVersion: record.schemaVersion, thresholds: record.thresholds, framework: record.framework, files: sorted };
}

/** Files `stryker.config.mjs` mutates: its patterns are `dir/**\/*.ts` or plain paths, `!path` leaving one out. */
function mutatedFiles(patterns: string[]): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir)).flatMap((name) => {
      const rel = path.posix.join(dir, name);
      return statSync(path.join(ROOT, rel)).isDirectory() ? walk(rel) : rel.endsWith(".ts") ? [rel] : [];
    });
  const excluded = new Set(patterns.filter((p) => p.startsWith("!")).map((p) => p.slice(1)));
  return patterns
    .filter((p) => !p.startsWith("!"))
    .flatMap((p) => (p.endsWith("/**/*.ts") ? walk(p.slice(0, -"/**/*.ts".length)) : [p]))
    .filter((f) => !excluded.has(f))
    .sort();
}

const pct = (n: number) => `${n.toFixed(1)} %`;

/** The "before" column of the existing table, by file: the score before this work, kept across rewrites. */
function beforeColumn(md: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of md.matchAll(/^\| `([^`]+)` \|.*\| ([^|]+) \|$/gm)) out.set(m[1], m[2].trim());
  return out;
}

function replaceTable(text: string, header: string, rows: string[]): string {
  const start = text.indexOf(header);
  if (start < 0) throw new Error(`table header not found: ${header}`);
  const end = text.indexOf("\n\n", start);
  return `${text.slice(0, start)}${[header, ...rows].join("\n")}${text.slice(end)}`;
}

function notMeasuredLine(missing: string[]): string {
  return missing.length === 0 ? "Every mutated file is measured." : `Not measured yet (run \`npm run mutate -- --mutate <file>\`): ${missing.map((f) => `\`${f}\``).join(", ")}.`;
}

/** The report's and docs/mutation-testing.md's tables (and their "not measured" line) rewritten from the merged record. */
export function renderTables(record: Report, reportMd: string, doc: string, missing: string[]): { reportMd: string; doc: string; summary: string[] } {
  const results = Object.entries(record.files).map(([file, f]) => {
    const c = countsOf(f);
    return { file, c, ...scoreOf(c) };
  });
  const below = (score: number) => (score < TARGET ? ` (below ${TARGET} %)` : "");
  const before = beforeColumn(reportMd);
  const md = replaceTable(
    reportMd,
    "| file | mutants | killed | survived | no coverage | timeout | compile error | ignored | score | before |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    results.map(
      ({ file, c, score }) =>
        `| \`${file}\` | ${STATUSES.reduce((n, s) => n + c[s], 0)} | ${c.Killed} | ${c.Survived} | ${c.NoCoverage} | ${c.Timeout} | ${c.CompileError} | ${c.Ignored} | **${pct(score)}**${below(score)} | ${before.get(file) ?? "–"} |`,
    ),
  ).replace(/^(Not measured yet|Every mutated file is measured)[^\n]*$/m, notMeasuredLine(missing));
  const rd = replaceTable(doc, "| file | mutants counted | score |\n|---|---:|---:|", results.map(({ file, counted, score }) => `| \`${file}\` | ${counted} | ${pct(score)}${below(score)} |`)).replace(
    /^(Not measured yet|Every mutated file is measured)[^\n]*$/m,
    notMeasuredLine(missing),
  );
  const summary = results.map(({ file, counted, score }) => `${file.padEnd(28)} ${String(counted).padStart(4)} counted  ${pct(score)}${below(score)}`);
  return { reportMd: md, doc: rd, summary: missing.length > 0 ? [...summary, notMeasuredLine(missing)] : summary };
}

/** The files the committed Stryker config mutates. */
export async function configuredFiles(): Promise<string[]> {
  const config = (await import(path.join(ROOT, "stryker.config.mjs"))) as { default: { mutate: string[] } };
  return mutatedFiles(config.default.mutate);
}

/** Files the committed Stryker config mutates that the record has no result for. */
export async function unmeasured(record: Report): Promise<string[]> {
  return (await configuredFiles()).filter((f) => !(f in record.files));
}

/**
 * Files whose recorded source is not the file as it is now: their score belongs to an older
 * version (a rerun is due). Printed, not written into the tables, so that editing a mutated file
 * does not by itself break the tables' test.
 */
export function staleFiles(record: Report, read: (file: string) => string | undefined = readIfExists): string[] {
  return Object.entries(record.files)
    .filter(([file, f]) => read(file) !== f.source)
    .map(([file]) => file);
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(path.join(ROOT, file), "utf8");
  } catch {
    return undefined;
  }
}

export const readReport = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Report;
export const REPORT_FILES = { record: RECORD, reportMd: TABLE_MD, doc: DOC };

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true });
  const inputs = positionals.length > 0 ? positionals : ["reports/mutation/mutation.json"];
  const merged = mergeReports(readReport(RECORD), inputs.map(readReport), await configuredFiles());
  writeFileSync(RECORD, `${JSON.stringify(merged)}\n`);
  const out = renderTables(merged, readFileSync(TABLE_MD, "utf8"), readFileSync(DOC, "utf8"), await unmeasured(merged));
  writeFileSync(TABLE_MD, out.reportMd);
  writeFileSync(DOC, out.doc);
  for (const line of out.summary) console.log(line);
  const stale = staleFiles(merged);
  if (stale.length > 0) console.log(`Recorded for an older version of the source (rerun them): ${stale.join(", ")}`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
