/** The committed mutation report: merged run by run, and the tables users read agree with it. */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { REPORT_FILES, mergeReports, readReport, renderTables, scoreOf, countsOf, staleFiles, unmeasured } from "../../scripts/mutationReport";

const file = (statuses: string[]) => ({ language: "typescript", source: "x", mutants: statuses.map((status, i) => ({ id: String(i), status, killedBy: ["t1"], coveredBy: ["t1", "t2"] })) });
const report = (files: Record<string, ReturnType<typeof file>>) => ({ schemaVersion: "1.0", thresholds: { high: 80, low: 60 }, files });

describe("mutation report", () => {
  it("a run of some files replaces those files only, without per-test ids", () => {
    const merged = mergeReports(report({ "core/a.ts": file(["Survived"]), "core/b.ts": file(["Killed"]) }), [report({ "core/a.ts": file(["Killed", "Timeout"]) })], ["core/a.ts", "core/b.ts"]);
    assert.deepEqual(Object.keys(merged.files), ["core/a.ts", "core/b.ts"]);
    assert.deepEqual(merged.files["core/a.ts"].mutants, [
      { id: "0", status: "Killed" },
      { id: "1", status: "Timeout" },
    ]);
    assert.deepEqual(merged.files["core/b.ts"].mutants.map((m) => m.status), ["Killed"]);
  });

  it("keeps no result for a file no longer mutated (moved or deleted), from the record or from a report", () => {
    const merged = mergeReports(report({ "core/old.ts": file(["Killed"]), "core/a.ts": file(["Killed"]) }), [report({ "core/moved.ts": file(["Survived"]), "core/a.ts": file(["Survived"]) })], ["core/a.ts"]);
    assert.deepEqual(Object.keys(merged.files), ["core/a.ts"]);
    assert.deepEqual(merged.files["core/a.ts"].mutants.map((m) => m.status), ["Survived"]);
  });

  it("scores killed and timed-out mutants over all but compile errors and ignored ones", () => {
    assert.deepEqual(scoreOf(countsOf(file(["Killed", "Timeout", "Survived", "NoCoverage", "CompileError", "Ignored"]))), { counted: 4, score: 50 });
  });

  it("names the files whose recorded source differs from the file now, or whose file is gone", () => {
    const now: Record<string, string> = { "core/a.ts": "x", "core/b.ts": "y" };
    const record = report({ "core/a.ts": file(["Killed"]), "core/b.ts": file(["Killed"]), "core/gone.ts": file(["Killed"]) });
    assert.deepEqual(staleFiles(record, (f) => now[f]), ["core/b.ts", "core/gone.ts"]);
  });

  it("docs/mutation-testing.md's and the report's tables are the committed record's", async () => {
    const record = readReport(REPORT_FILES.record);
    const reportMd = readFileSync(REPORT_FILES.reportMd, "utf8");
    const doc = readFileSync(REPORT_FILES.doc, "utf8");
    const rendered = renderTables(record, reportMd, doc, await unmeasured(record));
    assert.equal(rendered.reportMd, reportMd, "bench/results/mutation.md: run npm run mutate:report");
    assert.equal(rendered.doc, doc, "docs/mutation-testing.md: run npm run mutate:report");
  });
});
