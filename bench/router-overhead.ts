/**
 * Router overhead against nginx, in one run on this machine: the same fixed-response upstream
 * (an nginx `return 200`), loaded by wrk directly, through nginx `proxy_pass` (keep-alive
 * upstream), through a naive undici proxy (the reference point) and through our router
 * as it ships (the esbuild bundle of router/Dockerfile). Proxies under test pinned to CPU 0,
 * upstream and load generator to CPU 1, so nginx and the Node processes get the same single core.
 *
 * Shared VMs lose time to steal, which moves requests/s from run to run; so the targets are
 * measured in interleaved rounds (medians reported), and each proxy's CPU time per request is
 * reported too: it counts only cycles the process got, so it moves much less than requests/s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync, type ChildProcess } from "node:child_process";
import { type BenchResult, bundled, cpuSeconds, cpuTimes, have, nginxBaseline, parseWrk, pinned, stop, waitFor, type WrkResult } from "./common";

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
/** azureml-fe's documented capacity (about 5,000 requests/s per 2-vCPU router replica), per core. */
const AZUREML_FE_RPS_PER_CORE = 2_500;

function wrk(url: string, seconds: number): WrkResult {
  const args = ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", path.join(__dirname, "post.lua"), url];
  const r = have("taskset") ? spawnSync("taskset", ["-c", "1", "wrk", ...args], { encoding: "utf8" }) : spawnSync("wrk", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return parseWrk(r.stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const TARGETS = ["direct", "nginx", "naive", "router"] as const;
type Target = (typeof TARGETS)[number];
/** One measured round of a target: wrk's figures and the CPU its process spent per request. */
type Round = WrkResult & { cpuUs: number };

export async function routerOverhead(): Promise<BenchResult> {
  for (const tool of ["nginx", "wrk"]) if (!have(tool)) throw new Error(`${tool} is missing: apt-get install -y nginx-light wrk`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-"));
  const { upstream, proxy, upstreamUrl, directUrl, nginxUrl } = await nginxBaseline(dir);
  const env = { ...process.env, NODE_ENV: "production" };
  const naive = pinned("0", process.execPath, [bundled(path.join(__dirname, "naive-proxy.ts")), "--upstream", upstreamUrl], { env });
  const router = pinned("0", process.execPath, [bundled(path.join(__dirname, "router-process.ts")), "--upstream", upstreamUrl], { env });
  try {
    const url: Record<Target, string> = {
      direct: directUrl,
      nginx: nginxUrl,
      naive: `${(await waitFor(naive, /READY (http:\/\/\S+)/))[1]}/score`,
      router: `${(await waitFor(router, /READY (http:\/\/\S+)/))[1]}/api/v1/service/bench/score`,
    };
    // The process whose CPU a target's requests cost (direct: the upstream itself).
    const owner: Record<Target, ChildProcess> = { direct: upstream, nginx: proxy, naive, router };
    const runs = Object.fromEntries(TARGETS.map((t) => [t, [] as Round[]])) as Record<Target, Round[]>;
    for (const t of TARGETS) wrk(url[t], 2); // warm-up: JIT, connection pools
    const before = cpuTimes();
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of TARGETS) {
        const pid = owner[t].pid!;
        const cpu0 = cpuSeconds(pid);
        const r = wrk(url[t], DURATION);
        runs[t].push({ ...r, cpuUs: ((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, r.requests) });
      }
    }
    const after = cpuTimes();
    const m = (t: Target, k: "rps" | "p50" | "p99" | "cpuUs") => median(runs[t].map((r) => r[k]));
    const added = (t: Target) => m(t, "p99") - m("direct", "p99");
    return {
      name: "router overhead",
      rows: [
        ...TARGETS.flatMap((t) => [
          { metric: `${t}: requests/s`, value: m(t, "rps") },
          { metric: `${t}: p50`, value: m(t, "p50"), unit: "ms" },
          { metric: `${t}: p99`, value: m(t, "p99"), unit: "ms" },
          ...(t === "direct" ? [] : [{ metric: `${t}: CPU per request`, value: m(t, "cpuUs"), unit: "µs" }]),
          { metric: `${t}: non-2xx + timeouts`, value: runs[t].reduce((n, r) => n + r.errors, 0) },
        ]),
        { metric: "throughput router / nginx", value: m("router", "rps") / m("nginx", "rps"), unit: "×" },
        { metric: "throughput naive / nginx", value: m("naive", "rps") / m("nginx", "rps"), unit: "×" },
        { metric: "throughput router / naive", value: m("router", "rps") / m("naive", "rps"), unit: "×" },
        { metric: "router requests/s per core / azureml-fe's 2,500", value: m("router", "rps") / AZUREML_FE_RPS_PER_CORE, unit: "×" },
        { metric: "CPU per request router / nginx", value: m("router", "cpuUs") / m("nginx", "cpuUs"), unit: "×" },
        { metric: "CPU per request router / naive", value: m("router", "cpuUs") / m("naive", "cpuUs"), unit: "×" },
        { metric: "p99 added: nginx", value: added("nginx"), unit: "ms" },
        { metric: "p99 added: naive", value: added("naive"), unit: "ms" },
        { metric: "p99 added: router", value: added("router"), unit: "ms" },
        { metric: "CPU steal during the run", value: (100 * (after.steal - before.steal)) / Math.max(1, after.total - before.total), unit: "%" },
      ],
      notes: [
        `wrk -t1 -c${CONNECTIONS}, POST 7-byte body, ${ROUNDS} interleaved rounds of ${DURATION} s per target, medians; nginx (1 worker), the naive proxy and the router (1 Node process each, production bundle) pinned to CPU 0; upstream nginx and wrk share CPU 1 (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? "?"}).`,
        "naive: node:http server + undici Pool.request with the request stream as body, answer piped back (no auth, routing, limits or metrics).",
      ],
    };
  } finally {
    await Promise.all([stop(router), stop(naive), stop(proxy), stop(upstream)]);
    rmSync(dir, { recursive: true, force: true });
  }
}
