/**
 * Router overhead against nginx, in one run on this machine: the same fixed-response upstream
 * (an nginx `return 200`), loaded by wrk directly, through nginx `proxy_pass` (keep-alive
 * upstream) and through our router. Proxy under test pinned to CPU 0, upstream and load
 * generator to CPU 1, so nginx and the router get the same single core.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { type BenchResult, freePort, have, parseWrk, pinned, stop, waitFor, waitForPort, type WrkResult } from "./common";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;

function nginxConf(dir: string, body: string): string {
  const file = path.join(dir, `nginx-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    file,
    `daemon off;\nmaster_process off;\nworker_processes 1;\npid ${file}.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir};\n  proxy_temp_path ${dir};\n  fastcgi_temp_path ${dir};\n  uwsgi_temp_path ${dir};\n  scgi_temp_path ${dir};\n  keepalive_requests 1000000;\n${body}\n}\n`,
  );
  return file;
}

function wrk(url: string, seconds: number): WrkResult {
  const args = ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", path.join(__dirname, "post.lua"), url];
  const r = have("taskset") ? spawnSync("taskset", ["-c", "1", "wrk", ...args], { encoding: "utf8" }) : spawnSync("wrk", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return parseWrk(r.stdout);
}

export async function routerOverhead(): Promise<BenchResult> {
  for (const tool of ["nginx", "wrk"]) if (!have(tool)) throw new Error(`${tool} is missing: apt-get install -y nginx-light wrk`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "aksinf-bench-"));
  const upstreamPort = await freePort();
  const nginxPort = await freePort();
  const upstream = pinned("1", "nginx", ["-c", nginxConf(dir, `  server { listen 127.0.0.1:${upstreamPort}; location / { default_type application/json; return 200 '{"result":[[0.1]]}'; } }`), "-p", dir]);
  const proxy = pinned("0", "nginx", [
    "-c",
    nginxConf(dir, `  upstream model { server 127.0.0.1:${upstreamPort}; keepalive 64; }\n  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://model/score; proxy_http_version 1.1; proxy_set_header Connection ""; } }`),
    "-p",
    dir,
  ]);
  const router = pinned("0", process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(__dirname, "router-process.ts"), "--upstream", `http://127.0.0.1:${upstreamPort}`], { env: { ...process.env, NODE_ENV: "production" } });
  try {
    await waitForPort(upstreamPort);
    await waitForPort(nginxPort);
    const routerUrl = (await waitFor(router, /READY (http:\/\/\S+)/))[1];
    const targets: [string, string][] = [
      ["direct", `http://127.0.0.1:${upstreamPort}/score`],
      ["nginx", `http://127.0.0.1:${nginxPort}/score`],
      ["router", `${routerUrl}/api/v1/service/bench/score`],
    ];
    const results: Record<string, WrkResult> = {};
    for (const [name, url] of targets) {
      wrk(url, 2); // warm-up: JIT, connection pools
      results[name] = wrk(url, DURATION);
    }
    const added = (t: string) => results[t].p99 - results.direct.p99;
    return {
      name: "router overhead",
      rows: [
        ...(["direct", "nginx", "router"] as const).flatMap((t) => [
          { metric: `${t}: requests/s`, value: results[t].rps },
          { metric: `${t}: p50`, value: results[t].p50, unit: "ms" },
          { metric: `${t}: p99`, value: results[t].p99, unit: "ms" },
          { metric: `${t}: non-2xx + timeouts`, value: results[t].errors },
        ]),
        { metric: "throughput router / nginx", value: results.router.rps / results.nginx.rps, unit: "×" },
        { metric: "p99 added: nginx", value: added("nginx"), unit: "ms" },
        { metric: "p99 added: router", value: added("router"), unit: "ms" },
      ],
      notes: [`wrk -t1 -c${CONNECTIONS} -d${DURATION}s POST 7-byte body; nginx (1 worker) and the router (1 Node process) pinned to CPU 0; upstream nginx and wrk share CPU 1 (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? "?"}).`],
    };
  } finally {
    await Promise.all([stop(router), stop(proxy), stop(upstream)]);
  }
}
