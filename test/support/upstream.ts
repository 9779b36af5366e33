/** Real HTTP servers on 127.0.0.1 standing in for scoring replicas, and a router in front of them. */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { ServiceRoutingSettings } from "../../core/contracts/routingSettings";
import { LocalDiscovery } from "../../router/inProcess";
import { startRouter, type RouterHandle, type RouterOptions } from "../../router/server";
import type { KeyStore } from "../../router/types";
import type { ServiceKeys } from "../../core/decisions/auth";

export interface Upstream {
  url: string;
  /** Requests received, by path. */
  hits: string[];
  /** Requests currently being handled. */
  active(): number;
  close(): Promise<void>;
  server: http.Server;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/**
 * Echoes `{ replica, path, bytes, headers }` after `delayMs`, unless a handler is given.
 * `countOnly`: bodies are counted, not kept (memory tests measure the router, not this server).
 */
export async function startUpstream(name: string, opts: { delayMs?: number; handler?: UpstreamHandler; countOnly?: boolean } = {}): Promise<Upstream> {
  const hits: string[] = [];
  let active = 0;
  const server = http.createServer((req, res) => {
    active++;
    hits.push(req.url ?? "");
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      bytes += c.length;
      if (!opts.countOnly) chunks.push(c);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      setTimeout(() => {
        active--;
        if (opts.handler) return opts.handler(req, res, body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ replica: name, path: req.url, bytes, headers: req.headers }));
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    active: () => active,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function settings(name: string, over: Partial<ServiceRoutingSettings> = {}): ServiceRoutingSettings {
  return {
    name,
    authMode: "key",
    tokenAudience: name,
    autoscale: { enabled: false, minReplicas: 1, maxReplicas: 10, targetUtilization: 70 },
    maxConcurrentRequestsPerReplica: 1,
    maxQueueWaitMs: 500,
    scoringTimeoutMs: 5_000,
    ...over,
  };
}

/** Keys held in memory and changed by the test. */
export class MemoryKeyStore implements KeyStore {
  readonly keys = new Map<string, ServiceKeys>();
  get(service: string): ServiceKeys | undefined {
    return this.keys.get(service);
  }
  async close(): Promise<void> {}
}

export const quietLogger = () => pino({ level: "silent" });

export async function routerWith(discovery: LocalDiscovery, keys: KeyStore, extra: Partial<RouterOptions> = {}): Promise<RouterHandle> {
  return startRouter({ discovery, keys, logger: quietLogger(), drainGraceMs: 0, ...extra });
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** A request with fetch (undici), answer parsed as JSON. */
export async function call(url: string, init: RequestInit & { key?: string } = {}): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  const res = await fetch(url, { method: "POST", body: "{}", ...init, headers });
  const text = await res.text();
  let json: Reply["json"];
  try {
    json = JSON.parse(text) as Reply["json"];
  } catch {
    throw new Error(`non-JSON answer ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), json };
}
