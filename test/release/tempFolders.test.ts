/**
 * A test run leaves nothing in the temporary folder: every test makes its folders through
 * test/support/tmp.ts, inside one folder per run that the run removes when it ends, and a run
 * killed before its end is cleaned up by the next one. A folder made any other way outlives the
 * run (the consumer test's was 900 MB per run).
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/stacks";
import { abandonedRunFolders, tempDir } from "../support/tmp";

const run = promisify(execFile);

describe("temporary folders of tests", () => {
  it("are all made by test/support/tmp.ts, which removes them", () => {
    const testRoot = path.join(REPO_ROOT, "test");
    const files = readdirSync(testRoot, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && f !== path.join("support", "tmp.ts"));
    const offenders = files.filter((f) => /\bmkdtemp(Sync)?\(/.test(readFileSync(path.join(testRoot, f), "utf8")));
    assert.deepEqual(offenders, [], "use tempDir() from test/support/tmp.ts");
    assert.ok(files.length > 100, `${files.length} test files read`);
  });

  it("a run folder is abandoned when its mocha process has ended, and only then", () => {
    const parent = tempDir("run-folders");
    for (const name of ["aksinf-run-111-aaaaaa", "aksinf-run-222-bbbbbb", "aksinf-consumer-cccccc", "aksinf-run-x-dddddd", "unrelated"]) mkdirSync(path.join(parent, name));
    assert.deepEqual(abandonedRunFolders(parent, (pid) => pid === 222), [path.join(parent, "aksinf-run-111-aaaaaa")]);
    assert.deepEqual(abandonedRunFolders(parent, () => true), []);
  });

  it("the mocha CLI, in parallel, makes every folder in one run folder, removes it at the end, and removes a killed run's", async function () {
    this.timeout(60_000);
    const scratch = tempDir("tmp-fixture");
    const parent = path.join(scratch, "tmp");
    const made = path.join(scratch, "made.txt");
    mkdirSync(parent);
    // A finished process's pid stands for a killed run; this process's for a run still going.
    const { stdout: ended } = await run(process.execPath, ["-p", "process.pid"]);
    const killed = path.join(parent, `aksinf-run-${ended.trim()}-killed`);
    const live = path.join(parent, `aksinf-run-${process.pid}-live`);
    for (const dir of [killed, live]) mkdirSync(path.join(dir, "consumer-x", "node_modules"), { recursive: true });
    const specs = ["one", "two"].map((name) => {
      const spec = path.join(scratch, `${name}.spec.js`);
      const body = `const { appendFileSync, writeFileSync } = require("node:fs");
const { tempDir } = require(${JSON.stringify(path.join(REPO_ROOT, "test", "support", "tmp.ts"))});
it("makes a folder", () => { const dir = tempDir("${name}"); writeFileSync(dir + "/file", "x"); appendFileSync(${JSON.stringify(made)}, dir + "\\n"); });
`;
      writeFileSync(spec, body);
      return spec;
    });
    // The child is a run of its own: it must not inherit this run's folder.
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: parent, AKSINF_TEST_RUN_DIR: undefined };
    const mocha = path.join(REPO_ROOT, "node_modules", "mocha", "bin", "mocha.js");
    await run(process.execPath, [mocha, "--no-config", "--require", "tsx/cjs", "--require", path.join(REPO_ROOT, "test", "support", "tmp.ts"), "--parallel", "--jobs", "2", ...specs], { cwd: REPO_ROOT, env });

    const folders = readFileSync(made, "utf8").trim().split("\n");
    assert.equal(folders.length, 2);
    const runFolders = new Set(folders.map((f) => path.dirname(f)));
    assert.equal(runFolders.size, 1, `both workers used one run folder: ${folders.join(", ")}`);
    const [runFolder] = runFolders;
    assert.match(path.basename(runFolder), /^aksinf-run-\d+-/);
    assert.equal(path.dirname(runFolder), parent);
    assert.deepEqual(readdirSync(parent).filter((name) => name.startsWith("aksinf-")), [path.basename(live)], "the run's folder and the killed run's are gone; the live run's is kept");
    assert.ok(existsSync(path.join(live, "consumer-x", "node_modules")));
  });
});
