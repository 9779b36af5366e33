/**
 * The router as its own process for benchmarks: one service `bench` (no auth) whose replicas
 * are the upstream URLs given; prints `READY <url>` when listening.
 *   node router-process.js (its esbuild bundle, see bundled() in common.ts) --port 0 --upstream http://127.0.0.1:9000 [--upstream ...]
 */
import { Command } from "commander";
import pino from "pino";
import { FileKeyStore, LocalDiscovery } from "../router/inProcess";
import { startRouter } from "../router/server";
import * as os from "node:os";

const program = new Command()
  .option("--port <port>", "listen port", "0")
  .option("--upstream <url...>", "replica URLs")
  .option("--concurrency <n>", "requests per replica", "1024")
  .parse();
const o = program.opts<{ port: string; upstream: string[]; concurrency: string }>();
const discovery = new LocalDiscovery();
discovery.upsertService({
  name: "bench",
  authMode: "none",
  tokenAudience: "bench",
  autoscale: { enabled: false, minReplicas: 1, maxReplicas: 1, targetUtilization: 70 },
  maxConcurrentRequestsPerReplica: Number(o.concurrency),
  maxQueueWaitMs: 5_000,
  scoringTimeoutMs: 60_000,
});
o.upstream.forEach((url, i) => discovery.addReplica("bench", { id: `u${i}`, url }));
startRouter({ discovery, keys: new FileKeyStore(os.tmpdir()), port: Number(o.port), logger: pino({ level: "warn" }) }).then((router) => {
  console.log(`READY ${router.url}`);
  process.once("SIGTERM", () => void router.close().then(() => process.exit(0)));
});
