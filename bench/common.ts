/** Shared by the benchmarks: process helpers, wrk parsing, result records. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Readable } from "node:stream";
import { bundleEntry } from "../scripts/bundle";

export interface BenchResult {
  name: string;
  /**
   * Rows of the summary table: metric → value (numbers rounded by the printer). A figure taken
   * over repeated windows gives its median as `value` and its interquartile range as `iqr`.
   */
  rows: { metric: string; value: number | string; unit?: string; iqr?: [number, number] }[];
  notes: string[];
}

export function have(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

import { freePort } from "../local/ports";

export { freePort };

/** A body of `bytes` bytes, produced as it is read (never held whole). */
export function sizedStream(bytes: number): Readable {
  const chunk = Buffer.alloc(256 * 1024, 1);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const n = Math.min(chunk.length, bytes - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

const bundles = new Map<string, string>();

/**
 * `entry` bundled the way the images ship the router (scripts/bundle.ts: one file, no tsx at run
 * time): the benchmarks measure the artifact that runs in the cluster, not a dev loader.
 */
export function bundled(entry: string, external: readonly string[] = []): string {
  let out = bundles.get(entry);
  if (!out) {
    out = path.join(__dirname, ".build", `${path.basename(entry, ".ts")}.js`);
    bundleEntry(entry, out, external);
    bundles.set(entry, out);
  }
  return out;
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU time (user + system, all threads) `pid` has used, in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The machine's CPU time counters (/proc/stat), to report how much a VM lost to steal. */
export function cpuTimes(): { total: number; steal: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

let taskset: boolean | undefined;

/** Runs `cmd` pinned to `cpus` (taskset) when available. */
export function pinned(cpus: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  // Looked up once: the paired benchmarks start two load generators together, with no shell run between them.
  const useTaskset = (taskset ??= have("taskset"));
  return spawn(useTaskset ? "taskset" : cmd, useTaskset ? ["-c", cpus, cmd, ...args] : args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env, cwd: opts.cwd });
}

/** Resolves once `child` prints a line matching `re`; returns the match. */
export function waitFor(child: ChildProcess, re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${out.slice(-500)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${re}: ${out.slice(-500)}`));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}

/** `1.23ms` / `850.00us` / `1.02s` → milliseconds. */
export function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

export interface WrkResult {
  /** Requests completed in the run. */
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx/3xx answers and socket errors (connect, read, write, timeout). */
  errors: number;
}

/**
 * wrk against `url` for `seconds`, pinned to `cpus`, POSTing bench/post.lua's body with `key` as
 * the bearer key. Asynchronous, so two can run at once (the paired benchmarks start both together).
 */
export function wrk(url: string, seconds: number, opts: { cpus: string; connections: number; key?: string }): Promise<WrkResult> {
  const args = ["-t1", `-c${opts.connections}`, `-d${seconds}s`, "--latency", "-s", path.join(__dirname, "post.lua"), url];
  const child = pinned(opts.cpus, "wrk", args, { env: { ...process.env, BENCH_KEY: opts.key } });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    // "close", not "exit": the last of wrk's report may still be in the pipe when it exits.
    child.once("close", (code) => (code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk ${url} failed (${code}): ${err || out}`))));
  });
}

export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "");
  // Any of them means the run did not measure what it says (a 401 costs a proxy far less than a forward).
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? [];
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + socket.reduce((n, x) => n + Number(x), 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { requests, rps, p50: pct("50"), p99: pct("99"), errors };
}

export function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** An nginx configuration file in `dir` running one worker in the foreground with `body` as its http block. */
export function nginxConf(dir: string, body: string): string {
  const file = path.join(dir, `nginx-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    file,
    `daemon off;\nmaster_process off;\nworker_processes 1;\npid ${file}.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir};\n  proxy_temp_path ${dir};\n  fastcgi_temp_path ${dir};\n  uwsgi_temp_path ${dir};\n  scgi_temp_path ${dir};\n  keepalive_requests 1000000;\n${body}\n}\n`,
  );
  return file;
}

/**
 * The baselines every latency benchmark compares with: an nginx `return 200` upstream (the model
 * stand-in, CPU 1) and an nginx `proxy_pass` to it with keep-alive (CPU 0, where the router runs too).
 */
export async function nginxBaseline(dir: string): Promise<{ upstream: ChildProcess; proxy: ChildProcess; upstreamUrl: string; directUrl: string; nginxUrl: string }> {
  const upstreamPort = await freePort();
  const nginxPort = await freePort();
  const upstream = pinned("1", "nginx", ["-c", nginxConf(dir, `  server { listen 127.0.0.1:${upstreamPort}; location / { default_type application/json; return 200 '{"result":[[0.1]]}'; } }`), "-p", dir]);
  const proxy = pinned("0", "nginx", [
    "-c",
    nginxConf(dir, `  upstream model { server 127.0.0.1:${upstreamPort}; keepalive 64; }\n  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://model/score; proxy_http_version 1.1; proxy_set_header Connection ""; } }`),
    "-p",
    dir,
  ]);
  try {
    await waitForPort(upstreamPort);
    await waitForPort(nginxPort);
  } catch (err) {
    await Promise.all([stop(upstream), stop(proxy)]);
    throw err;
  }
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  return { upstream, proxy, upstreamUrl, directUrl: `${upstreamUrl}/score`, nginxUrl: `http://127.0.0.1:${nginxPort}/score` };
}

/**
 * The scheduler's account of `pid`'s main thread (/proc/<pid>/schedstat): time spent runnable but
 * waiting for a CPU (ns), and the number of times it was given the CPU. The wait is the machine's
 * share of a latency: time the process was ready and another task had the core.
 */
export function schedstat(pid: number): { waitNs: number; slices: number } {
  const [, waitNs, slices] = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
  return { waitNs, slices };
}
