/**
 * 1, 10 and 100 MB bodies streamed through the router (its own process) to an upstream that
 * discards them: throughput, and the router's peak RSS growth over its idle RSS.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { request } from "undici";
import { type BenchResult, bundled, pinned, rssKb, sizedStream as body, stop, waitFor } from "./common";

const MB = 1024 * 1024;

export async function payload(): Promise<BenchResult> {
  const sink = http.createServer((req, res) => {
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => res.end(JSON.stringify({ bytes: n })));
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const router = pinned("0", process.execPath, [bundled(path.join(__dirname, "router-process.ts")), "--upstream", `http://127.0.0.1:${(sink.address() as AddressInfo).port}`]);
  const rows: BenchResult["rows"] = [];
  try {
    const url = `${(await waitFor(router, /READY (http:\/\/\S+)/))[1]}/api/v1/service/bench/score`;
    await (await request(url, { method: "POST", body: "{}" })).body.text();
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssKb(router.pid!);
    rows.push({ metric: "router idle RSS", value: idle / 1024, unit: "MB" });
    for (const size of [1, 10, 100]) {
      let peak = idle;
      const sampler = setInterval(() => (peak = Math.max(peak, rssKb(router.pid!))), 10);
      const t = performance.now();
      const res = await request(url, { method: "POST", body: body(size * MB), headers: { "content-type": "application/octet-stream" } });
      const answer = (await res.body.json()) as { bytes: number };
      const seconds = (performance.now() - t) / 1000;
      clearInterval(sampler);
      if (res.statusCode !== 200 || answer.bytes !== size * MB) throw new Error(`${size} MB: status ${res.statusCode}, ${answer.bytes} bytes arrived`);
      rows.push({ metric: `${size} MB: throughput`, value: size / seconds, unit: "MB/s" });
      rows.push({ metric: `${size} MB: peak RSS growth`, value: (peak - idle) / 1024, unit: "MB" });
    }
    const over = await request(url, { method: "POST", body: body(101 * MB) }).catch((err: Error) => err);
    rows.push({ metric: "101 MB: answer", value: over instanceof Error ? `connection closed (${over.message})` : String(over.statusCode) });
  } finally {
    await stop(router);
    sink.close();
  }
  return { name: "payload streaming", rows, notes: ["Bodies streamed from this process through the router (own process, CPU 0) to a discarding upstream; RSS sampled every 10 ms from /proc."] };
}
