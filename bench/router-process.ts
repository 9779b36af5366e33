/**
 * The router as its own process for benchmarks: one service `bench` (no auth) whose replicas
 * are the upstream URLs given; prints `READY <url>` when listening. With `--mirror <url>`, the
 * service has two versions: `live` (the upstreams, all traffic) and `shadow` (that URL), which
 * gets a copy of 10 % of requests.
 *   node router-process.js (its esbuild bundle, see bundled() in common.ts) --port 0 --upstream http://127.0.0.1:9000 [--upstream ...] [--mirror http://...]
 */
import { Command } from "commander";
import type { ServiceRoutingSettings } from "../core/routingSettings";
import { unitOf } from "../core/versions";
import pino from "pino";
import { FileKeyStore, LocalDiscovery } from "../router/inProcess";
import { startRouter } from "../router/server";
import * as os from "node:os";

const program = new Command()
  .option("--port <port>", "listen port", "0")
  .option("--upstream <url...>", "replica URLs")
  .option("--concurrency <n>", "requests per replica", "1024")
  .option("--mirror <url>", "a mirror version's replica, getting a copy of 10 % of requests")
  .parse();
const o = program.opts<{ port: string; upstream: string[]; concurrency: string; mirror?: string }>();
const discovery = new LocalDiscovery();
const settings: ServiceRoutingSettings = {
  name: "bench",
  authMode: "none",
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
startRouter({ discovery, keys: new FileKeyStore(os.tmpdir()), port: Number(o.port), logger: pino({ level: "warn" }) }).then((router) => {
  console.log(`READY ${router.url}`);
  process.once("SIGTERM", () => void router.close().then(() => process.exit(0)));
});
