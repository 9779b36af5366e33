/**
 * A test run leaves nothing in the temporary folder: every test makes its folders through
 * test/support/tmp.ts, whose root hook removes them when the file's tests end. A folder made
 * any other way outlives the run (the consumer test's was 900 MB per run).
 */
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";

describe("temporary folders of tests", () => {
  it("are all made by test/support/tmp.ts, which removes them", () => {
    const testRoot = path.join(REPO_ROOT, "test");
    const files = readdirSync(testRoot, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && f !== path.join("support", "tmp.ts"));
    const offenders = files.filter((f) => /\bmkdtemp(Sync)?\(/.test(readFileSync(path.join(testRoot, f), "utf8")));
    assert.deepEqual(offenders, [], "use tempDir() from test/support/tmp.ts");
    assert.ok(files.length > 100, `${files.length} test files read`);
  });
});
