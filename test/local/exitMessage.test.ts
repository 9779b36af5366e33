/** What local mode reports as a crashed replica's last words (`last exit: code 1 "..."`), from its last lines of output. */
import * as assert from "node:assert/strict";
import { exitMessage } from "../../local/supervisor";

const out = (text: string) => ({ stderr: false, text });
const err = (text: string) => ({ stderr: true, text });
const log = (fields: Record<string, unknown>) => out(JSON.stringify({ time: 1, service: "s", replica: "s-1", ...fields }));

describe("local mode: a crashed replica's exit message", () => {
  it("the error Node printed for an uncaught exception, not the lines around it", () => {
    const lines = ["/srv/score.js:3", '    throw new Error("model file missing")', "    ^", "", "Error: model file missing", "    at Object.<anonymous> (/srv/score.js:3:11)", "", "Node.js v20.20.2"].map(err);
    assert.equal(exitMessage([log({ level: 30, msg: "listening" }), ...lines]), "Error: model file missing");
  });

  it("the last line of a fatal log entry (a traceback ends with the exception)", () => {
    const fatal = log({ level: 60, msg: "python worker could not be restarted", err: "python worker exited (code 1) before init() finished:\nTraceback (most recent call last):\n  File \"score.py\", line 1\nModuleNotFoundError: No module named 'sklearn'\n" });
    assert.equal(exitMessage([log({ level: 30, msg: "ready" }), fatal]), "ModuleNotFoundError: No module named 'sklearn'");
    assert.equal(exitMessage([log({ level: 60, msg: "scoring server failed to start" })]), "scoring server failed to start");
  });

  it("a Python worker's stderr, which the scoring server logs line by line", () => {
    const lines = [log({ level: 30, stream: "stderr", worker: 0, msg: "Traceback (most recent call last):" }), log({ level: 30, stream: "stderr", worker: 0, msg: "KeyError: 'features'" }), log({ level: 30, stream: "stdout", worker: 0, msg: "print from run()" })];
    assert.equal(exitMessage(lines), "KeyError: 'features'");
  });

  it("the latest error said, else the last stderr line, else nothing", () => {
    assert.equal(exitMessage([log({ level: 60, msg: "first" }), err("ValueError: later")]), "ValueError: later");
    assert.equal(exitMessage([err("ValueError: earlier"), log({ level: 60, err: "RuntimeError: later" })]), "RuntimeError: later");
    assert.equal(exitMessage([err("killed by the watchdog  "), err("   ")]), "killed by the watchdog");
    assert.equal(exitMessage([out("plain stdout"), log({ level: 50, msg: "scoring failed", err: "a request's error" })]), undefined, "stdout and ordinary errors (one request's) do not explain an exit");
    assert.equal(exitMessage([err("{not json")]), "{not json");
  });
});
