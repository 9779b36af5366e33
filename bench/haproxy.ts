/**
 * HAProxy (Debian's 2.6, one thread) configured to do the router's job on the scoring path, so the
 * benchmarks can say what a native proxy pays for the same work: the service's keys checked
 * against a map (`Authorization: Bearer <key>`, 401 JSON otherwise), 413 on a declared body over
 * the router's limit, a request id sent to the model and returned to the caller
 * (`x-ms-request-id`), `Authorization` not forwarded, least-outstanding balancing over the
 * replicas with at most `maxConn` requests each and a 500 ms queue beyond that, keep-alive to the
 * replicas. Not done: tokens (JWT), per-service limits from settings, metrics — the router's keys
 * path is what is compared.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { freePort, pinned, stop, waitForPort } from "./common";

export interface HaproxyJob {
  port: number;
  /** File of accepted keys, one `<key> <service>` a line. */
  keysMap: string;
  service: string;
  /** Replica host:port pairs. */
  upstreams: readonly string[];
  /** Concurrent requests per replica before requests queue (the router's replicaMaxConcurrentRequests). */
  maxConn: number;
  maxBodyBytes: number;
}

/** The configuration text for `job` (pure, so its rules can be read in one place). */
export function haproxyConfig(job: HaproxyJob): string {
  const scorePath = `/api/v1/service/${job.service}/score`;
  return [
    "global",
    // One thread on one core: the same budget as nginx's one worker and the router's one event loop.
    "  nbthread 1",
    "  maxconn 4096",
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 65s",
    "  timeout server 60s",
    "  timeout http-request 10s",
    "  timeout http-keep-alive 65s",
    // The router's per-replica queue: a request waits at most this long for a free slot, then 503.
    "  timeout queue 500ms",
    "frontend scoring",
    `  bind 127.0.0.1:${job.port}`,
    "  unique-id-format %[uuid()]",
    "  unique-id-header x-ms-request-id",
    '  http-request set-var(txn.key) req.hdr(authorization),regsub("^Bearer ","")',
    `  http-request deny deny_status 401 content-type application/json string '{"error":{"code":"Unauthorized","message":"a valid key is required"}}' unless { var(txn.key),map(${job.keysMap}) -m str ${job.service} }`,
    `  http-request deny deny_status 413 content-type application/json string '{"error":{"code":"PayloadTooLarge","message":"body too large"}}' if { req.hdr_val(content-length) gt ${job.maxBodyBytes} }`,
    `  http-request deny deny_status 404 content-type application/json string '{"error":{"code":"NotFound","message":"no such service"}}' unless { path ${scorePath} }`,
    "  http-request del-header authorization",
    "  http-after-response set-header x-ms-request-id %[unique-id]",
    "  option forwardfor",
    `  default_backend ${job.service}`,
    `backend ${job.service}`,
    "  balance leastconn",
    "  http-reuse always",
    "  http-request set-path /score",
    ...job.upstreams.map((u, i) => `  server r${i} ${u} maxconn ${job.maxConn}`),
    "",
  ].join("\n");
}

/** Starts HAProxy for `job` pinned to `cpus`; resolves once it listens, with its scoring URL. */
export async function startHaproxy(dir: string, cpus: string, job: Omit<HaproxyJob, "port">): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const file = path.join(dir, `haproxy-${port}.cfg`);
  writeFileSync(file, haproxyConfig({ ...job, port }));
  // -db: foreground, no daemon, so the process benchmarked is the one spawned (its CPU is read from /proc/<pid>).
  const child = pinned(cpus, "haproxy", ["-db", "-f", file]);
  try {
    await waitForPort(port);
  } catch (err) {
    await stop(child);
    throw err;
  }
  return { child, url: `http://127.0.0.1:${port}/api/v1/service/${job.service}/score` };
}
