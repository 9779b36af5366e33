/**
 * What the router costs per proxied request next to nginx, HAProxy doing the router's job and a
 * bare node:http + undici proxy (Node's floor for this design), measured so that the machine
 * cancels out. On a shared 2-core VM, runs taken one after another move by up to ±40 %, and a
 * co-running process raises a Node process's CPU per request far more than nginx's: a sequential
 * comparison measures the machine. So targets are compared in pairs, in simultaneous windows:
 * both pinned to the same core (CPU 0), each loaded by its own wrk (CPU 1, with the upstream) for
 * the same seconds, started together; each one's CPU per request is its own process's
 * utime + stime over the window (/proc/<pid>/stat) ÷ the requests its wrk completed, and the
 * window's figure is the ratio of the two. Whatever the machine does in a window, both see it.
 * Medians and interquartile ranges over BENCH_WINDOWS windows per pair (default 10, of
 * BENCH_WINDOW_SECONDS, default 3), run back to back after a joint lead-in; which target's load
 * starts first alternates between windows.
 *
 * The null test: the router paired with a second, identical router process must come out at
 * 1.00 ± 0.03; outside that the run is marked unreliable and its ratios are not reported as
 * results. BENCH_BASELINE_REV=<rev> adds the router of that revision paired with this tree's.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { baselineRouterBundle } from "./baseline";
import { type BenchResult, cpuSeconds, cpuTimes, have, wrk } from "./common";
import { pairedRatios, selfPairHolds, spread, type Spread } from "./paired";
import { checkKeyAuth, LOAD_CPU, startBare, startHaproxyTarget, startRouter, startStage, type Target } from "./targets";

const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 10);
/** 6 pairs × (3 s lead-in + 10 windows × 3 s) keeps the whole benchmark under 4 minutes. */
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 3);
/** The unmeasured joint load before a pair's windows. */
const LEAD_IN_SECONDS = 3;
const CONNECTIONS = 32;
const SELF_PAIR_BAND = 0.03;
/** azureml-fe's documented capacity (about 5,000 requests/s per 2-vCPU router replica), per core. */
const AZUREML_FE_RPS_PER_CORE = 2_500;

type Name = "router" | "router (2nd process)" | "nginx" | "HAProxy" | "bare" | "baseline";

/** Each target against the router and against nginx; the self-pair first, as the run's null test. */
const PAIRS: readonly [Name, Name][] = [
  ["router", "router (2nd process)"],
  ["router", "nginx"],
  ["router", "HAProxy"],
  ["router", "bare"],
  ["HAProxy", "nginx"],
  ["bare", "nginx"],
];

/**
 * One window: `a` and `b` loaded at once for `seconds`; returns each one's CPU per request (µs).
 * `bFirst` swaps which load is started (and which CPU counter is read) first.
 */
async function pairedWindow(a: Target, b: Target, key: string, seconds: number, bFirst: boolean): Promise<[number, number]> {
  const order = bFirst ? [b, a] : [a, b];
  const before = order.map((t) => cpuSeconds(t.child.pid!));
  const runs = await Promise.all(order.map((t) => wrk(t.url, seconds, { cpus: LOAD_CPU, connections: CONNECTIONS, key })));
  const after = order.map((t) => cpuSeconds(t.child.pid!));
  runs.forEach((r, i) => {
    if (r.errors > 0 || r.requests === 0) throw new Error(`${order[i].url}: ${r.errors} failed of ${r.requests} requests in a window`);
  });
  const us = order.map((_, i) => ((after[i] - before[i]) * 1e6) / runs[i].requests);
  return bFirst ? [us[1], us[0]] : [us[0], us[1]];
}

export async function routerOverhead(): Promise<BenchResult> {
  for (const [tool, pkg] of [["nginx", "nginx-light"], ["wrk", "wrk"], ["haproxy", "haproxy"], ["taskset", "util-linux"]]) if (!have(tool)) throw new Error(`${tool} is missing: apt-get install -y ${pkg}`);
  if (!(WINDOWS >= 4 && WINDOW_SECONDS >= 1)) throw new Error(`BENCH_WINDOWS (${WINDOWS}) must be at least 4 and BENCH_WINDOW_SECONDS (${WINDOW_SECONDS}) at least 1: quartiles need windows`);
  const rev = process.env.BENCH_BASELINE_REV;
  const buildDir = path.join(__dirname, ".build");
  mkdirSync(buildDir, { recursive: true });
  const baseline = rev ? baselineRouterBundle(rev, buildDir) : undefined;
  const pairs = baseline ? [...PAIRS, ["baseline", "router"] as [Name, Name]] : PAIRS;

  const stage = await startStage(mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-")));
  try {
    const targets: Partial<Record<Name, Target>> = {
      nginx: stage.nginx,
      router: await startRouter(stage),
      "router (2nd process)": await startRouter(stage),
      HAProxy: await startHaproxyTarget(stage),
      bare: await startBare(stage),
      ...(baseline ? { baseline: await startRouter(stage, { bundle: baseline.bundle }) } : {}),
    };
    const target = (n: Name): Target => {
      const t = targets[n];
      if (!t) throw new Error(`no target ${n}`);
      return t;
    };
    for (const n of ["router", "router (2nd process)", "HAProxy", ...(baseline ? ["baseline"] : [])] as Name[]) await checkKeyAuth(n, target(n), stage.key);
    // Warm-up, each alone: V8 optimizes the Node targets' hot paths (the self-pair's block comes
    // first, so it would show a router still being optimized), every target opens its upstream connections.
    for (const n of Object.keys(targets) as Name[]) await wrk(target(n).url, n === "nginx" || n === "HAProxy" ? 1 : 5, { cpus: LOAD_CPU, connections: CONNECTIONS, key: stage.key });

    const cpuUs = new Map(pairs.map(([a, b]) => [`${a}|${b}`, { a: [] as number[], b: [] as number[] }]));
    const steal0 = cpuTimes();
    // A pair's windows run back to back after a joint lead-in, so both targets come to every
    // window equally busy. Rounds over all pairs left a target idle during the other pairs'
    // windows, and a Node process back from 20 s idle cost about 10 % more per request in its first
    // second than one busy throughout: the self-pair came out at 0.89-0.97 that way (1.01 in blocks).
    // Nothing is lost by measuring pairs at different times: each ratio is taken within a window.
    for (const [a, b] of pairs) {
      await Promise.all([a, b].map((n) => wrk(target(n).url, LEAD_IN_SECONDS, { cpus: LOAD_CPU, connections: CONNECTIONS, key: stage.key })));
      const s = cpuUs.get(`${a}|${b}`)!;
      for (let w = 0; w < WINDOWS; w++) {
        const [ua, ub] = await pairedWindow(target(a), target(b), stage.key, WINDOW_SECONDS, w % 2 === 1);
        s.a.push(ua);
        s.b.push(ub);
      }
    }
    const steal1 = cpuTimes();

    /** Per-window ratios x / y, from the pair that measured them (in either order). */
    const ratios = (x: Name, y: Name): number[] => {
      const direct = cpuUs.get(`${x}|${y}`);
      if (direct) return pairedRatios(direct.a, direct.b);
      const reverse = cpuUs.get(`${y}|${x}`);
      if (reverse) return pairedRatios(reverse.b, reverse.a);
      throw new Error(`no pair ${x}/${y}`);
    };
    const self = spread(ratios("router", "router (2nd process)"));
    const reliable = selfPairHolds(self, SELF_PAIR_BAND);
    const ratioRow = (metric: string, s: Spread): BenchResult["rows"][number] =>
      reliable ? { metric, value: s.median, unit: "×", iqr: [s.q1, s.q3] } : { metric, value: `unreliable (median ${s.median.toFixed(2)}, IQR ${s.q1.toFixed(2)}–${s.q3.toFixed(2)})` };
    /** A target's own CPU per request over every window it ran in (moves with the machine; the ratios do not). */
    const absolute = (n: Name): Spread =>
      spread(pairs.flatMap(([a, b]) => (a === n ? cpuUs.get(`${a}|${b}`)!.a : b === n ? cpuUs.get(`${a}|${b}`)!.b : [])));
    const us = (n: Name, label: string): BenchResult["rows"][number] => {
      const s = absolute(n);
      return { metric: `${label}: CPU per request (all its windows)`, value: s.median, unit: "µs", iqr: [s.q1, s.q3] };
    };
    const rows: BenchResult["rows"] = [
      { metric: "self-pair router / router (null test, must be 1.00 ± 0.03)", value: self.median, unit: "×", iqr: [self.q1, self.q3] },
      { metric: "run reliable (self-pair within the band)", value: reliable ? "yes" : "NO: the ratios below are not results" },
      ratioRow("CPU per request router / nginx", spread(ratios("router", "nginx"))),
      ratioRow("CPU per request router / HAProxy", spread(ratios("router", "HAProxy"))),
      ratioRow("CPU per request router / bare", spread(ratios("router", "bare"))),
      ratioRow("CPU per request HAProxy / nginx", spread(ratios("HAProxy", "nginx"))),
      ratioRow("CPU per request bare / nginx", spread(ratios("bare", "nginx"))),
      ratioRow("CPU per request nginx / router", spread(ratios("nginx", "router"))),
      ratioRow("CPU per request HAProxy / router", spread(ratios("HAProxy", "router"))),
      ratioRow("CPU per request bare / router", spread(ratios("bare", "router"))),
      ...(baseline ? [ratioRow(`CPU per request router@${baseline.commit} / router (this tree)`, spread(ratios("baseline", "router")))] : []),
      us("router", "router"),
      us("nginx", "nginx"),
      us("HAProxy", "HAProxy"),
      us("bare", "bare"),
      { metric: "router requests per CPU-second / azureml-fe's 2,500 per vCPU", value: 1e6 / absolute("router").median / AZUREML_FE_RPS_PER_CORE, unit: "×" },
      { metric: "CPU steal during the windows", value: (100 * (steal1.steal - steal0.steal)) / Math.max(1, steal1.total - steal0.total), unit: "%" },
    ];
    return {
      name: "router overhead",
      rows,
      notes: [
        ...(reliable
          ? []
          : [`UNRELIABLE RUN: the router paired with an identical router process came out at ${self.median.toFixed(3)} (IQR ${self.q1.toFixed(3)}–${self.q3.toFixed(3)}), outside 1.00 ± ${SELF_PAIR_BAND}: the machine moved the figures more than the code can be told apart by. Re-run on a quieter machine, or with more or longer windows (BENCH_WINDOWS, BENCH_WINDOW_SECONDS).`]),
        `Paired windows: ${pairs.length} pairs × ${WINDOWS} windows of ${WINDOW_SECONDS} s. In each window both targets run at once pinned to CPU 0, each loaded by its own wrk (-t1 -c${CONNECTIONS}, POST 7-byte JSON with the service key as a bearer key) pinned to CPU 1 with the upstream nginx; CPU per request = the target process's utime + stime over the window ÷ the requests its wrk completed; each row is the median (IQR in brackets) of the per-window ratios. A pair's windows run back to back after ${LEAD_IN_SECONDS} s of unmeasured joint load; which load starts first alternates between windows.`,
        "router: the production bundle, key auth on (a 401 without the key is checked before the run), every front-door limit at its default. HAProxy 2.6 (1 thread): key map, x-ms-request-id from unique-id, Authorization stripped, 413 on declared size, leastconn, maxconn 1024 per server with a 500 ms queue, keep-alive to the upstream (bench/haproxy.ts). bare: node:http server, body held whole, undici Pool.dispatch with a raw handler, answer written by one res.end, nothing else (bench/naive-proxy.ts). nginx: 1 worker, proxy_pass with keep-alive upstream.",
        "Absolute CPU per request (µs) moves with the machine and with the partner a target shares the core with; only the ratios are comparable between runs.",
        ...(baseline ? [`Baseline: router@${baseline.commit} (BENCH_BASELINE_REV=${rev}) bundled from a temporary git worktree with this tree's bench/router-process.ts and node_modules, paired with this tree's router in a block of windows of its own like every pair.`] : []),
      ],
    };
  } finally {
    await stage.close();
    rmSync(stage.dir, { recursive: true, force: true });
  }
}
