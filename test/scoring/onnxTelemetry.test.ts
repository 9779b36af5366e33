/**
 * A replica serving an ONNX model sends nothing to a third party and leaves nothing behind:
 * onnxruntime's own telemetry (a device id and event database under ~/.cache/Microsoft, a
 * mat-debug log per process in the temporary folder, uploads to Microsoft's collector) is off
 * unless the operator turns it on. Run in a child process with its own HOME and temporary folder,
 * since the runtime reads the variable once per process.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

const MODEL = path.join(REPO_ROOT, "samples", "models", "regressor.onnx");

/** Serves one request with the built-in ONNX handler; what the runtime wrote to HOME and the temporary folder. */
function serveOnce(extraEnv: Record<string, string>): { home: string[]; tmp: string[]; workerEnv: string } {
  const root = tempDir("ort-telemetry");
  const home = path.join(root, "home");
  const tmp = path.join(root, "tmp");
  mkdirSync(home);
  mkdirSync(tmp);
  const program = `
    const { OnnxHandler } = require("./scoring/handlers");
    const h = new OnnxHandler({ modelDir: ${JSON.stringify(path.dirname(MODEL))}, models: { regressor: ${JSON.stringify(MODEL)} } });
    h.init().then(() => h.run({ data: [[1, 2, 3, 4]] })).then((out) => {
      if (!out.output) throw new Error("no answer: " + JSON.stringify(out));
      process.stdout.write(String(process.env.ORT_DISABLE_TELEMETRY));
    });`;
  const r = spawnSync(process.execPath, ["-r", "tsx/cjs", "-e", program], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, ...extraEnv },
  });
  assert.equal(r.status, 0, r.stderr);
  const walk = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: "utf8" }).map((p) => p.split(path.sep).join("/"));
  return { home: existsSync(home) ? walk(home) : [], tmp: walk(tmp), workerEnv: r.stdout };
}

describe("onnxruntime's own telemetry", function () {
  this.timeout(120_000);

  it("is off by default: no device id, no event database, no debug log, and a Python worker inherits the setting", () => {
    const { home, tmp, workerEnv } = serveOnce({});
    assert.deepEqual(home.filter((p) => p.startsWith(".cache/Microsoft")), [], `written under HOME: ${home.join(", ")}`);
    assert.deepEqual(tmp.filter((p) => p.startsWith("mat-debug")), [], `written to the temporary folder: ${tmp.join(", ")}`);
    // Python workers get the replica's environment (scoring/pythonHandler.ts), so their onnxruntime reads the same value.
    assert.equal(workerEnv, "1");
  });

  it("stays the operator's choice: ORT_DISABLE_TELEMETRY=0 turns it back on", () => {
    const { home, tmp, workerEnv } = serveOnce({ ORT_DISABLE_TELEMETRY: "0" });
    assert.equal(workerEnv, "0");
    assert.ok(home.includes(".cache/Microsoft/DeveloperTools/.onnxruntime/deviceid"), `HOME holds: ${home.join(", ")}`);
    assert.ok(tmp.some((p) => /^mat-debug-\d+\.log$/.test(p)), `temporary folder holds: ${tmp.join(", ")}`);
  });
});
