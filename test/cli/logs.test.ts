/**
 * `logs` options and local mode's log files: --since durations, which lines --since keeps in a
 * file where only some lines carry a time, and following a file that grows, is rewritten, or
 * ends with a half-written line.
 */
import * as assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { followFile, linesSince, parseDuration, readLocalLog } from "../../cli/logs";
import { tempDir } from "../support/tmp";

const at = (ms: number, msg: string) => JSON.stringify({ level: 30, time: ms, msg });

describe("CLI: logs options and local log files", () => {
  it("--since takes kubectl's durations, and refuses anything else by name", () => {
    assert.equal(parseDuration("30s"), 30);
    assert.equal(parseDuration("10m"), 600);
    assert.equal(parseDuration("1h30m"), 5400);
    assert.equal(parseDuration("1.5s"), 2, "whole seconds, rounded up: nothing newer is lost");
    for (const bad of ["", "10", "m", "-5m", "5d", "0s", "10m junk"]) assert.throws(() => parseDuration(bad), /--since must be a duration such as 30s, 10m, 2h or 1h30m/, bad);
  });

  it("--since keeps timed lines from the cutoff on, and an untimed line with the next timed one", () => {
    const lines = [at(1_000, "old"), "print between old lines", at(2_000, "older than cutoff"), "print before a new line", at(5_000, "new"), "print at the end"];
    assert.deepEqual(linesSince(lines, 3_000), ["print before a new line", at(5_000, "new"), "print at the end"]);
    assert.deepEqual(linesSince(lines, 6_000), ["print at the end"], "a print after the last timed line may be recent: kept");
    assert.deepEqual(linesSince(["not json {", "{\"time\": \"yesterday\"}"], 1), ["not json {", "{\"time\": \"yesterday\"}"], "lines without a numeric time are not dropped");
  });

  it("reads a missing file as empty, and leaves a half-written last line to the follow", () => {
    const dir = tempDir("logs");
    assert.deepEqual(readLocalLog(path.join(dir, "none.log"), { tail: 10 }), { lines: [], size: 0 });
    const file = path.join(dir, "svc.log");
    writeFileSync(file, "one\ntwo\nthree\nhal");
    assert.deepEqual(readLocalLog(file, { tail: 2 }), { lines: ["two", "three"], size: "one\ntwo\nthree\n".length });
  });

  it("follows a file: appended lines whole, a rewritten file from its start, the last line when the writer stops", async () => {
    const file = path.join(tempDir("follow"), "svc.log");
    writeFileSync(file, "before\n");
    const got: string[] = [];
    let alive = true;
    const following = followFile(file, "before\n".length, (l) => got.push(l), () => alive, 10);
    const until = async (n: number) => {
      const deadline = Date.now() + 2_000;
      while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    appendFileSync(file, "first\nsec");
    await until(1);
    appendFileSync(file, "ond é\n");
    await until(2);
    assert.deepEqual(got, ["first", "second é"], "a line split across writes comes whole");
    writeFileSync(file, "new\n"); // local mode started again, the file recreated smaller
    await until(3);
    appendFileSync(file, "unterminated");
    alive = false;
    await following;
    assert.deepEqual(got, ["first", "second é", "new", "unterminated"]);
  });
});
