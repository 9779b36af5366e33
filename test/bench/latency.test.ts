/**
 * Reading the fixed-rate latency runs (bench/latency.ts) and wrk's report (bench/common.ts): the
 * figures the latency and overhead benchmarks write into bench/results.
 */
import * as assert from "node:assert/strict";
import { parseWrk } from "../../bench/common";
import { parseH2loadLog, tailInPauses, type Timed } from "../../bench/latency";

describe("bench/latency", () => {
  it("reads h2load's per-request log in milliseconds, skipping lines that are not a request", () => {
    const log = "1796528030708808\t200\t96\n1796528030708800\t200\t1500\n\ngarbage line\n";
    assert.deepEqual(parseH2loadLog(log), [
      { start: 1796528030708.808, ms: 0.096 },
      { start: 1796528030708.8, ms: 1.5 },
    ]);
  });

  it("says how much of the slow tail was in flight during a pause, next to the share chance gives", () => {
    // 100 requests of 1 ms every 10 ms; the one starting at 500 ms ran into a 4 ms pause and took 5 ms.
    const requests: Timed[] = Array.from({ length: 100 }, (_, i) => ({ start: i * 10, ms: i === 50 ? 5 : 1 }));
    const r = tailInPauses(requests, [{ start: 501, ms: 4 }]);
    assert.equal(r.tail, 1);
    assert.equal(r.tailShare, 1);
    assert.equal(r.baseShare, 0.01);
  });

  it("does not count a pause that ended before a request started", () => {
    const requests: Timed[] = Array.from({ length: 100 }, (_, i) => ({ start: i * 10, ms: i === 50 ? 5 : 1 }));
    const r = tailInPauses(requests, [{ start: 495, ms: 5 }]);
    assert.equal(r.tailShare, 0);
  });
});

describe("bench/common parseWrk", () => {
  const report = (socketErrors: string) =>
    [
      "Running 3s test @ http://127.0.0.1:1/score",
      "  Latency Distribution",
      "     50%  812.00us",
      "     99%    2.10ms",
      "  12000 requests in 3.00s, 1.20MB read",
      socketErrors,
      "Requests/sec:   4000.00",
    ].join("\n");

  it("counts every socket error as failed, not only timeouts: a reset connection did not measure a forward", () => {
    assert.equal(parseWrk(report("  Socket errors: connect 0, read 3, write 1, timeout 2")).errors, 6);
    assert.equal(parseWrk(report("")).errors, 0);
  });

  it("reads requests, rate and percentiles", () => {
    const r = parseWrk(report(""));
    assert.deepEqual({ requests: r.requests, rps: r.rps, p50: r.p50, p99: r.p99 }, { requests: 12000, rps: 4000, p50: 0.812, p99: 2.1 });
  });
});
