/**
 * Model data collection keeps large records while storage answers: a record over 1 MiB (a big
 * batch) becomes a blob of its own, referenced from the hour's JSON lines, instead of being
 * dropped as "buffer full" or failing the 4 MiB append-block limit.
 */
import * as assert from "node:assert/strict";
import pino from "pino";
import { BLOB_CONTAINERS } from "../../core/contracts/naming";
import { useAzurite } from "../support/azurite";
import { DataCollector, LARGE_RECORD_BYTES, recordBlobName } from "../../scoring/collector";

describe("model data collection: large records", function () {
  this.timeout(60_000);
  const azurite = useAzurite();

  it("stores a 20 MB record whole as its own blob and points at it from the JSON lines; small records stay inline", async () => {
    const container = azurite.blob().getContainerClient(BLOB_CONTAINERS.modelData);
    // A buffer far smaller than the record: before, such a record was dropped as "buffer full".
    const collector = new DataCollector(container, pino({ level: "silent" }), { flushIntervalMs: 60_000, maxBufferedBytes: 2 * LARGE_RECORD_BYTES });
    const time = "2026-11-28T07:15:00.000Z";
    const big = { data: Array.from({ length: 1_000_000 }, (_, i) => [i, i / 3]) };
    collector.collect({ time, requestId: "rid-big", service: "svc", replica: "r1", status: 200, input: big, output: [1] });
    collector.collect({ time, requestId: "rid-small", service: "svc", replica: "r1", status: 200, input: { data: [[1]] }, output: [2] });
    await collector.close();
    assert.equal(collector.dropped, 0);

    const lines = (await container.getBlobClient(recordBlobName("svc", "r1", new Date(time))).downloadToBuffer())
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const small = lines.find((l) => l.requestId === "rid-small")!;
    assert.deepEqual(small.input, { data: [[1]] });
    const ref = lines.find((l) => l.requestId === "rid-big")!;
    assert.equal(ref.blob, "svc/2026/11/28/07/r1/rid-big.json");
    assert.equal(ref.input, undefined);
    const whole = JSON.parse((await container.getBlobClient(String(ref.blob)).downloadToBuffer()).toString()) as { input: typeof big; output: number[] };
    assert.equal(Buffer.byteLength(JSON.stringify(whole)), ref.bytes);
    assert.deepEqual(whole.input.data[999_999], [999_999, 999_999 / 3]);
    assert.deepEqual(whole.output, [1]);
  });
});
