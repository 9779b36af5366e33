/**
 * Latency the router adds below saturation, next to nginx and HAProxy doing the router's job:
 * h2load (Debian's nghttp2-client; wrk2 is not packaged, and h2load's --rps is an open-loop rate
 * over HTTP/1.1 with --h1) sends a fixed rate — 25 %, 50 % and 75 % of the router's own maximum,
 * measured first with wrk — to the upstream directly and through each proxy, each pinned to CPU 0
 * as in the overhead benchmark. wrk's closed loop only measures saturation; a fixed rate shows
 * what callers see at the loads a service runs at.
 *
 * Latency cannot be paired the way CPU per request is: two targets loaded at once on one core
 * delay each other's requests, which is the figure itself. So the targets run one after another
 * in BENCH_ROUNDS interleaved rounds (the order rotates each round), and each figure is the
 * median (and IQR) over rounds of what a target adds over the upstream measured in the same
 * round. The null test is a second, identical router process in every round: its p99 over the
 * first router's must come out at 1.00 ± 0.03, or the run is marked unreliable. A third router,
 * whose service mirrors 10 % of requests to another version (the same upstream), gives the
 * callers' p99 with a mirror at the same rates.
 *
 * When the router's p99 added at 50 % is more than 0.5 ms above nginx's, one more window at that
 * rate records the router's garbage-collection pauses and event-loop delay (SIGUSR2 to
 * router-process.ts) and states how much of the slow tail was in flight during a pause.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { constants as gcKinds } from "node:perf_hooks";
import { type BenchResult, have, pinned, schedstat, waitFor, wrk } from "./common";
import { parseH2loadLog, tailInPauses, type Pause, type Timed } from "./latency";
import { median, pairedDifferences, pairedRatios, quantile, selfPairHolds, spread, type Spread } from "./paired";
import { LOAD_CPU, checkKeyAuth, startHaproxyTarget, startRouter, startStage, type Target } from "./targets";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** h2load clients; each sends rate / CLIENTS requests per second. */
const CLIENTS = 8;
const SHARES = [0.25, 0.5, 0.75] as const;
const SELF_PAIR_BAND = 0.03;
/** The bar: the router's p99 added at 50 % at most this much above nginx's (ms). */
const P99_BAR_MS = 0.5;

type Name = "direct" | "nginx" | "HAProxy" | "router" | "router (2nd process)" | "mirrored";
const NAMES: readonly Name[] = ["direct", "nginx", "HAProxy", "router", "router (2nd process)", "mirrored"];

/** One fixed-rate run of one target. */
interface Run {
  p50: number;
  p99: number;
  failed: number;
  requests: Timed[];
  /** The target's main thread: mean time runnable but waiting for the CPU per time it got it (µs). */
  runQueueUs: number;
}

function h2load(target: Target, rate: number, key: string, dir: string, seconds: number): Promise<Run> {
  const log = path.join(dir, `h2load-${Math.random().toString(36).slice(2)}.log`);
  const args = ["--h1", "-c", String(CLIENTS), "--rps", String(Math.max(1, Math.round(rate / CLIENTS))), "-D", String(seconds), "--warm-up-time", "500ms"];
  args.push("-d", path.join(dir, "body.json"), "-H", `authorization: Bearer ${key}`, "-H", "content-type: application/json", "--log-file", log, target.url);
  const pid = target.child.pid!;
  const s0 = schedstat(pid);
  const child = pinned(LOAD_CPU, "h2load", args);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`h2load ${target.url} failed (${code}): ${out}`));
      const s1 = schedstat(pid);
      const failed = Number(/requests: .*?(\d+) failed/.exec(out)?.[1] ?? 0) + Number(/status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
      const requests = parseH2loadLog(readFileSync(log, "utf8"));
      rmSync(log, { force: true });
      const ms = requests.map((r) => r.ms);
      resolve({ p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), failed, requests, runQueueUs: (s1.waitNs - s0.waitNs) / 1000 / Math.max(1, s1.slices - s0.slices) });
    });
  });
}

/** SIGUSR2 to router-process.ts: starts recording, or stops and returns what it recorded. */
async function routerDiagnostics<T>(router: Target, during: () => Promise<T>): Promise<{ result: T; pauses: (Pause & { kind: number })[]; loopDelay: { p50: number; p99: number; max: number } }> {
  router.child.kill("SIGUSR2");
  // The observer is installed synchronously by the signal handler; a moment lets the signal land first.
  await new Promise((r) => setTimeout(r, 100));
  const result = await during();
  const diag = waitFor(router.child, /DIAG (\{.*\})\n/);
  router.child.kill("SIGUSR2");
  const parsed = JSON.parse((await diag)[1]) as { pauses: [number, number, number][]; loopDelay: { p50: number; p99: number; max: number } };
  return { result, pauses: parsed.pauses.map(([start, ms, kind]) => ({ start, ms, kind })), loopDelay: parsed.loopDelay };
}

export async function fixedRate(): Promise<BenchResult> {
  for (const [tool, pkg] of [["nginx", "nginx-light"], ["wrk", "wrk"], ["h2load", "nghttp2-client"], ["haproxy", "haproxy"], ["taskset", "util-linux"]]) if (!have(tool)) throw new Error(`${tool} is missing: apt-get install -y ${pkg}`);
  if (!(ROUNDS >= 4 && SECONDS >= 1)) throw new Error(`BENCH_ROUNDS (${ROUNDS}) must be at least 4 and BENCH_SECONDS (${SECONDS}) at least 1: quartiles need rounds`);
  const stage = await startStage(mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-rate-")));
  const dir = stage.dir;
  writeFileSync(path.join(dir, "body.json"), '{"data": [[1, 2, 3, 4]]}');
  try {
    const targets: Record<Name, Target> = {
      direct: stage.direct,
      nginx: stage.nginx,
      HAProxy: await startHaproxyTarget(stage),
      router: await startRouter(stage),
      "router (2nd process)": await startRouter(stage),
      mirrored: await startRouter(stage, { mirror: true }),
    };
    for (const n of ["HAProxy", "router", "router (2nd process)", "mirrored"] as const) await checkKeyAuth(n, targets[n], stage.key);
    const saturate = (t: Target) => wrk(t.url, SECONDS, { cpus: LOAD_CPU, connections: 32, key: stage.key });
    // Warm-up at saturation: otherwise a router's first rate is measured while V8 still optimizes it.
    for (const n of ["router", "router (2nd process)", "mirrored"] as const) await saturate(targets[n]);
    const max = median([await saturate(targets.router), await saturate(targets.router), await saturate(targets.router)].map((r) => r.rps));

    const runs = new Map<string, Run[]>();
    const at = (share: number, n: Name) => runs.get(`${share}|${n}`) ?? [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const share of SHARES) {
        for (let i = 0; i < NAMES.length; i++) {
          const n = NAMES[(i + round) % NAMES.length];
          const run = await h2load(targets[n], Math.round(max * share), stage.key, dir, SECONDS);
          runs.set(`${share}|${n}`, [...at(share, n), { ...run, requests: [] }]);
        }
      }
    }

    const p = (share: number, n: Name, k: "p50" | "p99") => at(share, n).map((r) => r[k]);
    const added = (share: number, n: Name, k: "p50" | "p99") => spread(pairedDifferences(p(share, n, k), p(share, "direct", k)));
    const self = spread(SHARES.flatMap((s) => pairedRatios(p(s, "router (2nd process)", "p99"), p(s, "router", "p99"))));
    const reliable = selfPairHolds(self, SELF_PAIR_BAND);
    const row = (metric: string, s: Spread, unit: string): BenchResult["rows"][number] =>
      reliable ? { metric, value: s.median, unit, iqr: [s.q1, s.q3] } : { metric, value: `unreliable (median ${s.median.toFixed(3)}, IQR ${s.q1.toFixed(3)}–${s.q3.toFixed(3)})`, unit };
    const rows: BenchResult["rows"] = [
      { metric: "router maximum (wrk, 32 connections, median of 3)", value: max, unit: "req/s" },
      { metric: "self-pair p99 router / router (null test, must be 1.00 ± 0.03)", value: self.median, unit: "×", iqr: [self.q1, self.q3] },
      { metric: "run reliable (self-pair within the band)", value: reliable ? "yes" : "NO: the latencies below are not results" },
    ];
    for (const share of SHARES) {
      const pct = `${share * 100} % (${Math.round(max * share)} req/s)`;
      const direct = spread(p(share, "direct", "p99"));
      rows.push(
        { metric: `${pct}: p99 direct`, value: direct.median, unit: "ms", iqr: [direct.q1, direct.q3] },
        row(`${pct}: p99 added by nginx`, added(share, "nginx", "p99"), "ms"),
        row(`${pct}: p99 added by HAProxy`, added(share, "HAProxy", "p99"), "ms"),
        row(`${pct}: p99 added by the router`, added(share, "router", "p99"), "ms"),
        row(`${pct}: router's p99 added − nginx's`, spread(pairedDifferences(p(share, "router", "p99"), p(share, "nginx", "p99"))), "ms"),
        row(`${pct}: p50 added by nginx`, added(share, "nginx", "p50"), "ms"),
        row(`${pct}: p50 added by HAProxy`, added(share, "HAProxy", "p50"), "ms"),
        row(`${pct}: p50 added by the router`, added(share, "router", "p50"), "ms"),
        row(`${pct}: caller p99 with a 10 % mirror − without`, spread(pairedDifferences(p(share, "mirrored", "p99"), p(share, "router", "p99"))), "ms"),
        {
          metric: `${pct}: run-queue wait per wake-up, nginx / router (median)`,
          value: `${median(at(share, "nginx").map((r) => r.runQueueUs)).toFixed(0)} / ${median(at(share, "router").map((r) => r.runQueueUs)).toFixed(0)}`,
          unit: "µs",
        },
        { metric: `${pct}: failed (all targets, all rounds)`, value: NAMES.reduce((n, t) => n + at(share, t).reduce((m, r) => m + r.failed, 0), 0) },
      );
    }

    const notes = [
      ...(reliable
        ? []
        : [`UNRELIABLE RUN: a second router process's p99 over the first's came out at ${self.median.toFixed(3)} (IQR ${self.q1.toFixed(3)}–${self.q3.toFixed(3)}), outside 1.00 ± ${SELF_PAIR_BAND}: the machine moved the latencies more than the targets differ. Re-run on a quieter machine or with more rounds (BENCH_ROUNDS).`]),
      `h2load --h1 -c ${CLIENTS} --rps (rate / ${CLIENTS} per client), ${SECONDS} s after 0.5 s of warm-up, POST 24-byte JSON with the service key, percentiles from its per-request log; ${ROUNDS} rounds, each target once per rate per round in an order that rotates; each figure is the median (IQR in brackets) over rounds of the target's figure minus the upstream's in the same round. Proxies pinned to CPU 0, upstream nginx and the load generators to CPU 1. The rates are shares of the router's own maximum, so nginx and HAProxy run far below theirs. Run-queue wait: the target's main thread, runnable while another task had CPU 0 (/proc/<pid>/schedstat), the machine's part of a latency.`,
    ];
    const excess = median(pairedDifferences(p(0.5, "router", "p99"), p(0.5, "nginx", "p99")));
    if (excess > P99_BAR_MS) notes.push(await explainTail(targets.router, Math.round(max * 0.5), stage.key, dir, excess));
    else notes.push(`At 50 % the router's p99 added is ${excess.toFixed(2)} ms above nginx's: within the ${P99_BAR_MS} ms bar.`);
    return { name: "latency at a fixed rate", rows, notes };
  } finally {
    await stage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One more window at 50 % with the router's GC pauses and event-loop delay recorded: the measured reason its tail exceeds the bar. */
async function explainTail(router: Target, rate: number, key: string, dir: string, excess: number): Promise<string> {
  const seconds = Math.max(SECONDS, 5);
  const { result, pauses, loopDelay } = await routerDiagnostics(router, () => h2load(router, rate, key, dir, seconds));
  const t = tailInPauses(result.requests, pauses);
  const sizes = pauses.map((x) => x.ms);
  const pausedShare = sizes.reduce((a, b) => a + b, 0) / (seconds * 10);
  const major = pauses.filter((x) => x.kind === gcKinds.NODE_PERFORMANCE_GC_MAJOR).length;
  const minor = pauses.filter((x) => x.kind === gcKinds.NODE_PERFORMANCE_GC_MINOR).length;
  const gc = `${pauses.length} GC pauses in ${seconds} s (${minor} scavenges, ${major} mark-compacts; median ${median(sizes).toFixed(2)} ms, p99 ${quantile(sizes, 0.99).toFixed(2)} ms, longest ${Math.max(0, ...sizes).toFixed(2)} ms; ${pausedShare.toFixed(1)} % of the time)`;
  return [
    `At 50 % the router's p99 added is ${excess.toFixed(2)} ms above nginx's, over the ${P99_BAR_MS} ms bar. Measured why, in a further ${seconds} s window at ${rate} req/s (router p99 ${result.p99.toFixed(2)} ms):`,
    `${gc}; of the ${t.tail} requests slower than that window's p99 (${t.threshold.toFixed(2)} ms), ${(100 * t.tailShare).toFixed(0)} % were in flight during a pause, against ${(100 * t.baseShare).toFixed(0)} % of all requests;`,
    `event-loop delay p50 ${loopDelay.p50.toFixed(2)} ms, p99 ${loopDelay.p99.toFixed(2)} ms, max ${loopDelay.max.toFixed(2)} ms; the router's main thread waited ${result.runQueueUs.toFixed(0)} µs per wake-up for CPU 0 (other processes on the core).`,
  ].join(" ");
}
