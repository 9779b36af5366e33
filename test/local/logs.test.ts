/**
 * What `npm start` prints on a terminal: readable log lines, each replica's output prefixed with
 * the replica's name; JSON lines when asked (`--log-format json`) or when output is not a
 * terminal. The terminal is a real pseudo-terminal (util-linux `script`).
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { defaultLogFormat, prefixLines, replicaLinePrinter } from "../../local/logFormat";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r/g, "");

/**
 * Runs local mode under a pseudo-terminal until each of `until` matches what it printed (or 60 s), then
 * stops it with SIGTERM as Ctrl-C would; returns everything it printed, colours removed.
 */
async function onTerminal(args: string[], until: RegExp[]): Promise<string> {
  const cmd = [process.execPath, "--require", require.resolve("tsx/cjs"), path.join(REPO_ROOT, "local", "main.ts"), "--port", "0", "--dir", tempDir("logs"), ...args].join(" ");
  const child = spawn("script", ["-qec", cmd, "/dev/null"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    const read = (d: Buffer) => {
      out += d.toString();
      if (until.every((re) => re.test(plain(out)))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // The whole group: script, local mode and its replicas, as a terminal's Ctrl-C reaches them.
  if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGTERM");
  await exited;
  return plain(out);
}

describe("local mode's log on a terminal (npm start)", function () {
  this.timeout(120_000);

  describe("format rules", () => {
    it("is readable on a terminal and JSON anywhere else", () => {
      assert.equal(defaultLogFormat(true), "pretty");
      assert.equal(defaultLogFormat(false), "json");
      assert.equal(defaultLogFormat(undefined), "json");
    });

    it("prefixes every line of a replica's output with its name, prettifying its JSON", () => {
      const printed: string[] = [];
      const print = replicaLinePrinter("pretty", (t) => printed.push(t))!;
      print("regressor-1", JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 1), service: "regressor", replica: "regressor-1", ms: 12, msg: "init() finished: replica ready" }));
      print("diabetes-2", "a print() from score.py");
      assert.match(printed[0], /^regressor-1 \| \[\d\d:\d\d:\d\d\.\d{3}\] INFO: init\(\) finished: replica ready \{"ms":12\}\n$/);
      assert.equal(printed[1], "diabetes-2 | a print() from score.py\n");
      assert.equal(prefixLines("r-1", "one\ntwo\n"), "r-1 | one\nr-1 | two\n");
    });

    it("leaves replica output to the log files in JSON", () => {
      assert.equal(replicaLinePrinter("json", () => undefined), undefined);
    });
  });

  describe("end to end, under a pseudo-terminal", function () {
    before(function () {
      if (spawnSync("script", ["--version"]).error) {
        console.log("      (skipped: util-linux `script`, which provides the pseudo-terminal, is not installed)");
        this.skip();
      }
    });

    it("prints readable lines, replica output prefixed with the replica's name", async () => {
      // The dev stack's regressor runs as two versions: the first one's first replica is regressor.v1-1.
      const out = await onTerminal([], [/^regressor\.v1-1 \| .*replica ready/m, /INFO: regressor\.v1: replica ready/]);
      assert.match(out, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: regressor\.v1: replica starting \{"replica":"regressor\.v1-1","port":\d+\}$/m);
      assert.match(out, /^regressor\.v1-1 \| \[\d\d:\d\d:\d\d\.\d{3}\] INFO: init\(\) finished: replica ready/m);
      assert.doesNotMatch(out, /^\{"level"/m, "no JSON line on the terminal");
    });

    it("prints JSON lines with --log-format json, replica output left to the log files", async () => {
      const out = await onTerminal(["--log-format", "json"], [/"replica":"regressor\.v1-1".*"msg":"replica ready"/]);
      const logLines = out.split("\n").filter((l) => l.startsWith("{"));
      assert.ok(logLines.some((l) => (JSON.parse(l) as { msg: string }).msg === "replica ready"));
      assert.doesNotMatch(out, /^regressor\.v1-1 \| /m);
    });
  });
});
