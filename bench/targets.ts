/**
 * The proxies the latency and overhead benchmarks compare, each one process pinned to CPU 0 in
 * front of one upstream (an nginx `return 200`, the model stand-in, on CPU 1 with the load
 * generators): nginx `proxy_pass`, HAProxy doing the router's job (bench/haproxy.ts), the bare
 * node:http + undici proxy (bench/naive-proxy.ts) and the router as it ships (its production
 * bundle, key auth on, every other limit at its default). All get the same request, with the
 * service key the run generated as `Authorization: Bearer`.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { writeKeyFile } from "../core/contracts/keyFile";
import { MAX_PAYLOAD_BYTES } from "../core/decisions/payloadLimit";
import { bundled, nginxBaseline, pinned, stop, waitFor } from "./common";
import { startHaproxy } from "./haproxy";

/** The proxies on CPU 0 and what they are pinned to. */
export const PROXY_CPU = "0";
/** The upstream and the load generators. */
export const LOAD_CPU = "1";
/** The router's per-replica limit in the benchmarks (router-process.ts's default), HAProxy's `maxconn` per server. */
const MAX_CONN = 1024;

export interface Target {
  /** The process whose CPU time the target's requests cost. */
  child: ChildProcess;
  url: string;
}

export interface Stage {
  dir: string;
  /** The bearer key every request carries (a random one for this run, in `dir` only). */
  key: string;
  upstream: ChildProcess;
  upstreamUrl: string;
  /** The upstream itself, no proxy: what every proxy's added latency is measured over. */
  direct: Target;
  nginx: Target;
  keysDir: string;
  keysMap: string;
  /** Every process started for the stage, stopped by close(). */
  started: ChildProcess[];
  close(): Promise<void>;
}

/** The upstream, nginx in front of it and the run's service key (for the router and HAProxy). */
export async function startStage(dir: string): Promise<Stage> {
  const base = await nginxBaseline(dir);
  const key = randomBytes(24).toString("base64url");
  const keysDir = path.join(dir, "keys");
  mkdirSync(keysDir, { recursive: true });
  // The secondary key is another random one: the router and HAProxy check against both, as in production.
  writeKeyFile(path.join(keysDir, "bench.json"), { primaryKey: key, secondaryKey: randomBytes(24).toString("base64url") });
  const keysMap = path.join(dir, "keys.map");
  writeFileSync(keysMap, `${key} bench\n`, { mode: 0o600 });
  const started = [base.upstream, base.proxy];
  return {
    dir,
    key,
    upstream: base.upstream,
    upstreamUrl: base.upstreamUrl,
    direct: { child: base.upstream, url: base.directUrl },
    nginx: { child: base.proxy, url: base.nginxUrl },
    keysDir,
    keysMap,
    started,
    close: async () => void (await Promise.all(started.map(stop))),
  };
}

/** The router bundle `bundle` (default: this tree's) serving service `bench` with key auth, over the stage's upstream. */
export async function startRouter(stage: Stage, opts: { bundle?: string; mirror?: boolean } = {}): Promise<Target> {
  const bundle = opts.bundle ?? bundled(path.join(__dirname, "router-process.ts"));
  const args = [bundle, "--upstream", stage.upstreamUrl, "--concurrency", String(MAX_CONN), "--keys", stage.keysDir, ...(opts.mirror ? ["--mirror", stage.upstreamUrl] : [])];
  const child = pinned(PROXY_CPU, process.execPath, args, { env: { ...process.env, NODE_ENV: "production" } });
  stage.started.push(child);
  return { child, url: `${(await waitFor(child, /READY (http:\/\/\S+)/))[1]}/api/v1/service/bench/score` };
}

/** The bare node:http + undici proxy: Node's floor for this design. */
export async function startBare(stage: Stage): Promise<Target> {
  const child = pinned(PROXY_CPU, process.execPath, [bundled(path.join(__dirname, "naive-proxy.ts")), "--upstream", stage.upstreamUrl], { env: { ...process.env, NODE_ENV: "production" } });
  stage.started.push(child);
  return { child, url: `${(await waitFor(child, /READY (http:\/\/\S+)/))[1]}/score` };
}

export async function startHaproxyTarget(stage: Stage): Promise<Target> {
  const upstream = new URL(stage.upstreamUrl).host;
  const { child, url } = await startHaproxy(stage.dir, PROXY_CPU, { keysMap: stage.keysMap, service: "bench", upstreams: [upstream], maxConn: MAX_CONN, maxBodyBytes: MAX_PAYLOAD_BYTES });
  stage.started.push(child);
  return { child, url };
}

/**
 * Fails unless `target` answers 401 without the key and 200 with it: a benchmark of the router or
 * HAProxy with auth silently off (or every request refused) would measure a different program.
 */
export async function checkKeyAuth(name: string, target: Target, key: string): Promise<void> {
  const post = (headers: Record<string, string>) => fetch(target.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"x":1}' }).then(async (r) => (await r.arrayBuffer(), r.status));
  const without = await post({});
  const withKey = await post({ authorization: `Bearer ${key}` });
  if (without !== 401 || withKey !== 200) throw new Error(`${name} answered ${without} without the key and ${withKey} with it; expected 401 and 200`);
}
