/**
 * Latency the router adds below saturation: h2load (Debian's nghttp2-client, HTTP/1.1) sends a
 * fixed rate — 25 %, 50 % and 75 % of the router's own maximum, measured first with wrk — to the
 * upstream directly, through nginx `proxy_pass` and through the router, each pinned to CPU 0 as in
 * the overhead benchmark. wrk's closed loop only measures saturation; an open, fixed-rate load
 * shows what callers see at the loads a service runs at. p99 comes from h2load's per-request log.
 * A second router, whose service mirrors 10 % of requests to another version (the same upstream),
 * gives the callers' p99 with a mirror at the same rates.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BenchResult, bundled, have, nginxBaseline, parseWrk, pinned, stop, waitFor } from "./common";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** h2load clients; each sends rate / CLIENTS requests per second. */
const CLIENTS = 8;
const SHARES = [0.25, 0.5, 0.75] as const;
const TARGETS = ["direct", "nginx", "router", "mirrored"] as const;
type Target = (typeof TARGETS)[number];

/** p-th percentile (0-100) of the request latencies (ms) in an h2load --log-file. */
export function logPercentile(log: string, p: number): number {
  const us = log
    .trim()
    .split("\n")
    .map((l) => Number(l.split("\t")[2]))
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  if (us.length === 0) return Number.NaN;
  return us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))] / 1000;
}

function h2load(url: string, rate: number, dir: string): { p50: number; p99: number; failed: number } {
  const log = path.join(dir, `h2load-${Math.random().toString(36).slice(2)}.log`);
  const body = path.join(dir, "body.json");
  const args = ["--h1", "-c", String(CLIENTS), "--rps", String(Math.max(1, Math.round(rate / CLIENTS))), "-D", String(SECONDS), "--warm-up-time", "1", "-d", body, "--log-file", log, url];
  const r = have("taskset") ? spawnSync("taskset", ["-c", "1", "h2load", ...args], { encoding: "utf8" }) : spawnSync("h2load", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`h2load failed: ${r.stderr || r.stdout}`);
  const failed = Number(/requests: .*?(\d+) failed/.exec(r.stdout)?.[1] ?? 0) + Number(/status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx/.exec(r.stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  const text = readFileSync(log, "utf8");
  return { p50: logPercentile(text, 50), p99: logPercentile(text, 99), failed };
}

export async function fixedRate(): Promise<BenchResult> {
  for (const [tool, pkg] of [["nginx", "nginx-light"], ["wrk", "wrk"], ["h2load", "nghttp2-client"]]) if (!have(tool)) throw new Error(`${tool} is missing: apt-get install -y ${pkg}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-rate-"));
  writeFileSync(path.join(dir, "body.json"), '{"data": [[1, 2, 3, 4]]}');
  const { upstream, proxy, upstreamUrl, directUrl, nginxUrl } = await nginxBaseline(dir);
  const routerBundle = bundled(path.join(__dirname, "router-process.ts"));
  const router = pinned("0", process.execPath, [routerBundle, "--upstream", upstreamUrl], { env: { ...process.env, NODE_ENV: "production" } });
  // Pinned to the same CPU as the first; each is measured while the other is idle.
  const mirrored = pinned("0", process.execPath, [routerBundle, "--upstream", upstreamUrl, "--mirror", upstreamUrl], { env: { ...process.env, NODE_ENV: "production" } });
  try {
    const url: Record<Target, string> = {
      direct: directUrl,
      nginx: nginxUrl,
      router: `${(await waitFor(router, /READY (http:\/\/\S+)/))[1]}/api/v1/service/bench/score`,
      mirrored: `${(await waitFor(mirrored, /READY (http:\/\/\S+)/))[1]}/api/v1/service/bench/score`,
    };
    const saturate = (target: string) =>
      spawnSync(have("taskset") ? "taskset" : "wrk", [...(have("taskset") ? ["-c", "1", "wrk"] : []), "-t1", "-c32", `-d${SECONDS}s`, "--latency", "-s", path.join(__dirname, "post.lua"), target], { encoding: "utf8" });
    const sat = saturate(url.router);
    if (sat.status !== 0) throw new Error(`wrk failed: ${sat.stderr}`);
    // The same saturating run warms the mirrored router's code (otherwise its first rate is
    // measured while V8 is still optimizing it, and its p99 looks milliseconds worse).
    saturate(url.mirrored);
    const max = parseWrk(sat.stdout).rps;
    const rows: BenchResult["rows"] = [{ metric: "router maximum (wrk, 32 connections)", value: max, unit: "req/s" }];
    for (const share of SHARES) {
      const rate = Math.round(max * share);
      const r = Object.fromEntries(TARGETS.map((t) => [t, h2load(url[t], rate, dir)])) as Record<Target, ReturnType<typeof h2load>>;
      const pct = `${share * 100} % (${rate} req/s)`;
      rows.push(
        { metric: `${pct}: p99 direct`, value: r.direct.p99, unit: "ms" },
        { metric: `${pct}: p99 added by nginx`, value: r.nginx.p99 - r.direct.p99, unit: "ms" },
        { metric: `${pct}: p99 added by the router`, value: r.router.p99 - r.direct.p99, unit: "ms" },
        { metric: `${pct}: p50 added by the router`, value: r.router.p50 - r.direct.p50, unit: "ms" },
        { metric: `${pct}: caller p99, router without / with a 10 % mirror`, value: `${r.router.p99.toFixed(2)} / ${r.mirrored.p99.toFixed(2)}`, unit: "ms" },
        { metric: `${pct}: failed (all targets)`, value: r.direct.failed + r.nginx.failed + r.router.failed + r.mirrored.failed },
      );
    }
    return {
      name: "latency at a fixed rate",
      rows,
      notes: [
        `h2load --h1 -c ${CLIENTS} --rps (rate / ${CLIENTS} per client), ${SECONDS} s after 1 s of warm-up, POST 24-byte JSON, percentiles from its per-request log; router and nginx pinned to CPU 0, upstream nginx and the load generators on CPU 1. The rates are shares of the router's own maximum, so nginx is far below its own. The mirrored router copies 10 % of requests to a second version on the same upstream (off the callers' path); its callers' p99 is measured at the same rates.`,
      ],
    };
  } finally {
    await Promise.all([stop(router), stop(mirrored), stop(proxy), stop(upstream)]);
    rmSync(dir, { recursive: true, force: true });
  }
}
