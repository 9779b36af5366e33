/**
 * The router as its own process for benchmarks: one service `bench` whose replicas are the
 * upstream URLs given; prints `READY <url>` when listening. With `--keys <dir>` the service takes
 * keys (`<dir>/bench.json`, the file key store local mode uses) as a service does by default;
 * without, it has no auth. With `--mirror <url>`, the service has two versions: `live` (the
 * upstreams, all traffic) and `shadow` (that URL), which gets a copy of 10 % of requests.
 * Every other limit is the router's default, as it ships.
 *
 * SIGUSR2 starts recording garbage-collection pauses and event-loop delay; the next SIGUSR2 stops
 * and prints `DIAG <json>` (pauses as [start, ms since the epoch; duration, ms; kind]): a
 * benchmark asks for it only around the window it explains, so other windows run without observers.
 *   node router-process.js (its esbuild bundle, see bundled() in common.ts) --port 0 --upstream http://127.0.0.1:9000 [--upstream ...] [--keys dir] [--mirror http://...]
 */
import { Command } from "commander";
import { monitorEventLoopDelay, performance, PerformanceObserver, type ELDHistogram, type NodeGCPerformanceDetail, type PerformanceEntry } from "node:perf_hooks";
import type { ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { unitOf } from "../core/decisions/versions";
import pino from "pino";
import { FileKeyStore, LocalDiscovery } from "../router/inProcess";
import { startRouter } from "../router/server";
import * as os from "node:os";

const program = new Command()
  .option("--port <port>", "listen port", "0")
  .option("--upstream <url...>", "replica URLs")
  .option("--concurrency <n>", "requests per replica", "1024")
  .option("--keys <dir>", "directory of key files (bench.json): the service takes keys")
  .option("--mirror <url>", "a mirror version's replica, getting a copy of 10 % of requests")
  .parse();
const o = program.opts<{ port: string; upstream: string[]; concurrency: string; keys?: string; mirror?: string }>();
const discovery = new LocalDiscovery();
const settings: ServiceRoutingSettings = {
  name: "bench",
  authMode: o.keys ? "key" : "none",
  tokenAudience: "bench",
  autoscale: { enabled: false, minReplicas: 1, maxReplicas: 1, targetUtilization: 70 },
  maxConcurrentRequestsPerReplica: Number(o.concurrency),
  maxQueueWaitMs: 5_000,
  scoringTimeoutMs: 60_000,
};
if (o.mirror) {
  discovery.upsertService({ ...settings, version: { name: "live", traffic: 100, mirrorPercent: 0 } });
  discovery.upsertService({ ...settings, version: { name: "shadow", traffic: 0, mirrorPercent: 10 } });
  discovery.addReplica(unitOf("bench", "shadow"), { id: "mirror", url: o.mirror });
} else {
  discovery.upsertService(settings);
}
const live = o.mirror ? unitOf("bench", "live") : "bench";
o.upstream.forEach((url, i) => discovery.addReplica(live, { id: `u${i}`, url }));

const LOOP_SAMPLE_MS = 10;
let recording: { gc: PerformanceObserver; pauses: [number, number, number][]; loop: ELDHistogram } | undefined;
process.on("SIGUSR2", () => {
  if (!recording) {
    const pauses: [number, number, number][] = [];
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pauses.push([performance.timeOrigin + e.startTime, e.duration, (e as PerformanceEntry & { detail?: NodeGCPerformanceDetail }).detail?.kind ?? 0]);
    });
    gc.observe({ entryTypes: ["gc"] });
    // 10 ms sampling (the default): a finer timer would itself add wake-ups to the window it explains.
    const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    loop.enable();
    recording = { gc, pauses, loop };
    return;
  }
  const { gc, pauses, loop } = recording;
  recording = undefined;
  gc.disconnect();
  loop.disable();
  // The histogram holds whole sampling intervals: the delay is what exceeds the interval.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS);
  console.log(`DIAG ${JSON.stringify({ pauses, loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) } })}`);
});

startRouter({ discovery, keys: new FileKeyStore(o.keys ?? os.tmpdir()), port: Number(o.port), logger: pino({ level: "warn" }) }).then((router) => {
  console.log(`READY ${router.url}`);
  process.once("SIGTERM", () => void router.close().then(() => process.exit(0)));
});
