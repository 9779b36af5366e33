/** Kubernetes' CrashLoopBackOff rules, as local mode's supervisor applies them and `state` reports them on both. */
import * as assert from "node:assert/strict";
import { KUBERNETES_BACKOFF, ago, crashLoopReason, describeExit, nextBackoff, type LastExit } from "../../core/decisions/crashLoop";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const exit = (over: Partial<LastExit> = {}): LastExit => ({ code: 1, signal: null, message: "ModuleNotFoundError: No module named 'x'", at: new Date(NOW - 12_000).toISOString(), ranMs: 4_000, ...over });

describe("crash loop: back-off", () => {
  it("waits 10 s after the first crash, doubling to at most 5 minutes", () => {
    const delays: number[] = [];
    let streak = 0;
    for (let i = 0; i < 8; i++) {
      const next = nextBackoff(streak, 4_000, KUBERNETES_BACKOFF);
      streak = next.streak;
      delays.push(next.delayMs / 1000);
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
    assert.equal(streak, 8);
    assert.equal(nextBackoff(1_000, 0, KUBERNETES_BACKOFF).delayMs, 300_000, "however long the loop");
  });

  it("starts again at 10 s after a run of 10 minutes", () => {
    assert.deepEqual(nextBackoff(6, 600_000, KUBERNETES_BACKOFF), { streak: 1, delayMs: 10_000 });
    assert.deepEqual(nextBackoff(6, 599_999, KUBERNETES_BACKOFF), { streak: 7, delayMs: 300_000 });
  });

  it("takes its timing from the policy (tests run it in milliseconds)", () => {
    const policy = { baseMs: 100, capMs: 250, resetAfterMs: 1_000 };
    assert.deepEqual(nextBackoff(0, 10, policy), { streak: 1, delayMs: 100 });
    assert.deepEqual(nextBackoff(1, 10, policy), { streak: 2, delayMs: 200 });
    assert.deepEqual(nextBackoff(2, 10, policy), { streak: 3, delayMs: 250 });
    assert.deepEqual(nextBackoff(2, 1_000, policy), { streak: 1, delayMs: 100 });
  });
});

describe("crash loop: how it reads", () => {
  it("says how long ago in seconds, minutes or hours", () => {
    assert.equal(ago(-5_000), "0 s ago");
    assert.equal(ago(12_400), "12 s ago");
    assert.equal(ago(119_000), "119 s ago");
    assert.equal(ago(120_000), "2 min ago");
    assert.equal(ago(119 * 60_000), "119 min ago");
    assert.equal(ago(120 * 60_000), "2 h ago");
  });

  it("names the exit code or signal, what the replica said last (one line, quoted, cut) and when", () => {
    assert.equal(describeExit(exit(), NOW), `code 1 "ModuleNotFoundError: No module named 'x'" 12 s ago`);
    assert.equal(describeExit(exit({ code: null, signal: "SIGKILL", message: undefined, at: new Date(NOW - 180_000).toISOString() }), NOW), "signal SIGKILL 3 min ago");
    assert.equal(describeExit(exit({ message: '  Traceback:\n  raise "x"\n' }), NOW), `code 1 "Traceback: raise \\"x\\"" 12 s ago`);
    assert.equal(describeExit(exit({ message: " \n " }), NOW), "code 1 12 s ago");
    const long = describeExit(exit({ message: "e".repeat(500) }), NOW);
    assert.equal(long, `code 1 "${"e".repeat(199)}…" 12 s ago`);
    assert.equal(describeExit(exit({ message: "e".repeat(200) }), NOW), `code 1 "${"e".repeat(200)}" 12 s ago`, "200 characters fit");
  });
});

describe("crash loop: when a replica is in one", () => {
  const looping = `CrashLoopBackOff (restarts 5, last exit: code 1 "ModuleNotFoundError: No module named 'x'" 12 s ago)`;

  it("while it waits for its restart", () => {
    assert.equal(crashLoopReason({ waiting: true, restarts: 5, lastExit: exit() }, NOW), looping);
    assert.equal(crashLoopReason({ waiting: true, restarts: 1, lastExit: exit({ ranMs: 3_600_000 }) }, NOW), looping.replace("restarts 5", "restarts 1"), "even after a long run: it is down now");
  });

  it("while it runs again between crashes, once it crashed twice in a row quickly", () => {
    const between = { waiting: false, restarts: 5, lastExit: exit(), runningSinceMs: NOW - 3_000 };
    assert.equal(crashLoopReason(between, NOW), looping);
    assert.equal(crashLoopReason({ ...between, restarts: 2 }, NOW), looping.replace("restarts 5", "restarts 2"));
    assert.equal(crashLoopReason({ ...between, restarts: 1 }, NOW), undefined, "one crash is not a loop");
  });

  it("not once it has run 10 minutes, nor when the crash came after a run that long", () => {
    const between = { waiting: false, restarts: 5, lastExit: exit(), runningSinceMs: NOW - 3_000 };
    assert.equal(crashLoopReason({ ...between, runningSinceMs: NOW - 600_000 }, NOW), undefined);
    assert.equal(crashLoopReason({ ...between, runningSinceMs: NOW - 599_999 }, NOW), looping);
    assert.equal(crashLoopReason({ ...between, lastExit: exit({ ranMs: 600_000 }) }, NOW), undefined);
    assert.equal(crashLoopReason({ ...between, lastExit: exit({ ranMs: undefined }) }, NOW), undefined, "how long it ran is not known");
    assert.equal(crashLoopReason({ ...between, runningSinceMs: undefined }, NOW), undefined, "not running and not waiting: stopped");
    assert.equal(crashLoopReason({ ...between, runningSinceMs: NOW - 2_000 }, NOW, { baseMs: 1, capMs: 1, resetAfterMs: 1_000 }), undefined, "the policy's reset time");
  });

  it("never without an exit", () => {
    assert.equal(crashLoopReason({ waiting: true, restarts: 3 }, NOW), undefined);
  });
});
