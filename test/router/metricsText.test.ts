/**
 * The router's request metrics skip prom-client's per-call label work (router/metrics.ts): the
 * `/metrics` text they produce must be what prom-client's own `labels(...).inc()` and `observe`
 * produce for the same requests, byte for byte, at every scrape.
 */
import * as assert from "node:assert/strict";
import { RouterMetrics, labelsOf } from "../../router/metrics";

/** The per-request series: what the fast path writes. */
const NAMES = ["aksinf_router_requests_total", "aksinf_router_request_duration_seconds", "aksinf_router_overhead_seconds"];

async function text(m: RouterMetrics): Promise<string> {
  return (await Promise.all(NAMES.map((n) => m.registry.getSingleMetricAsString(n)))).join("\n\n");
}

/** A fixed sequence of finished requests: unit, status, seconds, routing overhead. */
function* requests(count: number, seed: number): Generator<[string, number, number, number]> {
  const units = ["fraud", "fraud.canary", "unknown", "churn", "churn.blue"];
  const statuses = [200, 200, 200, 401, 404, 413, 503, 500];
  // Bounds themselves (a value on a bound counts in that bucket), just above them, zero and past the last bucket.
  const edges = [0, 0.001, 0.0010000001, 0.0025, 0.1, 0.25, 60, 60.5, 1e-9, 7];
  let x = seed;
  const next = () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < count; i++) {
    const seconds = i % 3 === 0 ? edges[i % edges.length] : next() * next() * 3;
    const overhead = i % 4 === 0 ? [0.0005, 0.1, 0.2, 0][i % 16 >> 2] : next() * 0.01;
    yield [units[Math.floor(next() * units.length)], statuses[Math.floor(next() * statuses.length)], seconds, overhead];
  }
}

describe("router: request metrics text", () => {
  it("is byte-identical to prom-client's own path, before and after a scrape, with the overhead recorded either way", async () => {
    const fast = new RouterMetrics();
    const reference = new RouterMetrics();
    const record = (seq: Iterable<[string, number, number, number]>) => {
      let i = 0;
      for (const [unit, status, seconds, overhead] of seq) {
        fast.request(unit, status, seconds);
        // forward.ts and tests still call prom-client's observe: both must land in the same series.
        if (i++ % 2 === 0) fast.routingOverhead(overhead);
        else fast.overhead.observe(overhead);
        reference.requests.labels({ ...labelsOf(unit), status: String(status) }).inc();
        reference.duration.labels(labelsOf(unit)).observe(seconds);
        reference.overhead.observe(overhead);
      }
    };

    assert.equal(await text(fast), await text(reference), "no request yet");
    record(requests(400, 7));
    const first = await text(fast);
    assert.equal(first, await text(reference));
    assert.match(first, /aksinf_router_requests_total\{service="fraud",version="canary",status="503"\} \d+/);
    assert.match(first, /aksinf_router_request_duration_seconds_bucket\{le="60",service="churn",version="blue"\} \d+/);
    // New series after a scrape (a unit seen for the first time) and more of the old ones.
    record([["late", 200, 0.5, 0.001], ...requests(200, 11)]);
    assert.equal(await text(fast), await text(reference));
  });

  it("refuses a value that is not a number, as prom-client does", () => {
    const m = new RouterMetrics();
    assert.throws(() => m.request("fraud", 200, Number.NaN), /Value is not a valid number/);
    assert.throws(() => m.routingOverhead(Number.POSITIVE_INFINITY), /Value is not a valid number/);
  });
});
