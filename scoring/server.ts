/**
 * The scoring server of one replica: `POST /score` (v1), `POST /v2/models/<service>/infer`,
 * `GET /swagger.json`, liveness `/healthz` and readiness `/readyz` (only after `init()`).
 * Errors from the handler become JSON 4xx/5xx answers; nothing a request does can crash it.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { DataCollector } from "./collector";
import { ScoringError, type ScoringHandler } from "./handlers";

/** The router refuses more than 100 MB; the replica keeps a matching guard of its own. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

export type ReplicaState = "starting" | "ready" | "failed" | "draining";

export interface ScoringServerOptions {
  service: string;
  replica: string;
  handler: ScoringHandler;
  log: Logger;
  collector?: DataCollector;
  host?: string;
  port?: number;
}

export interface ScoringServer {
  url: string;
  port: number;
  state(): ReplicaState;
  /** Runs `init()`; readiness follows it. Rejects (state `failed`) with the script's error. */
  initialize(): Promise<void>;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
const error = (res: http.ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new ScoringError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** JSON bodies are parsed (invalid JSON is the caller's error); anything else reaches `run` as text. */
function parseInput(req: http.IncomingMessage, body: Buffer): unknown {
  const text = body.toString("utf8");
  const type = req.headers["content-type"] ?? "";
  if (type.includes("json") || (!type && /^\s*[[{"]/.test(text))) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ScoringError(400, `request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  return text;
}

export async function startScoringServer(opts: ScoringServerOptions): Promise<ScoringServer> {
  let state: ReplicaState = "starting";
  let active = 0;
  const { log, handler, service } = opts;

  const score = async (req: http.IncomingMessage, res: http.ServerResponse, kind: "v1" | "v2") => {
    const requestId = String(req.headers["x-ms-request-id"] ?? req.headers["x-request-id"] ?? "");
    const started = Date.now();
    let input: unknown;
    let output: unknown;
    let status = 200;
    try {
      input = parseInput(req, await readBody(req));
      output = kind === "v1" ? await handler.run(input, { requestId }) : { model_name: service, id: requestId, ...(await handler.infer(input, { requestId })) };
      send(res, 200, output ?? null);
    } catch (err) {
      const e = err as Error & { statusCode?: unknown };
      status = typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
      const message = status >= 500 ? `run() failed: ${e.message}` : e.message;
      output = { error: message };
      if (status >= 500) log.error({ requestId, err: e.message, stack: e.stack }, "scoring failed");
      else log.info({ requestId, status, err: e.message }, "scoring rejected the input");
      if (!res.headersSent) error(res, status, status >= 500 ? "ModelError" : "BadInput", message);
    } finally {
      log.debug({ requestId, status, ms: Date.now() - started }, "scored");
      opts.collector?.collect({ time: new Date(started).toISOString(), requestId, service, replica: opts.replica, status, input, output });
    }
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") return send(res, 200, { status: "alive", state });
    if (path === "/readyz") return state === "ready" ? send(res, 200, { status: "ready" }) : send(res, 503, { status: state });
    if (path === "/swagger.json") {
      if (state !== "ready") return error(res, 503, "NotReady", `replica is ${state}`);
      return send(res, 200, handler.swagger(service));
    }
    if (path === `/v2/models/${service}/ready`) return state === "ready" ? send(res, 200, { name: service, ready: true }) : send(res, 503, { name: service, ready: false });
    const kind = path === "/score" ? "v1" : path === `/v2/models/${service}/infer` ? "v2" : undefined;
    if (!kind) return error(res, 404, "NotFound", `no route ${path}`);
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return error(res, 405, "MethodNotAllowed", "use POST");
    }
    if (state !== "ready") return error(res, 503, "NotReady", `replica is ${state}`);
    active++;
    score(req, res, kind)
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message }, "unexpected scoring error");
        if (!res.headersSent) error(res, 500, "InternalError", "the scoring server failed");
      })
      .finally(() => active--);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    port,
    state: () => state,
    async initialize() {
      const t = Date.now();
      try {
        await handler.init();
        state = "ready";
        log.info({ ms: Date.now() - t }, "init() finished: replica ready");
      } catch (err) {
        state = "failed";
        log.error({ err: (err as Error).message, stack: (err as Error).stack }, "init() failed");
        throw err;
      }
    },
    async close() {
      // Readiness off first, then let in-flight requests finish.
      state = "draining";
      server.close();
      server.closeIdleConnections();
      const deadline = Date.now() + 60_000;
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await opts.collector?.close();
    },
  };
}
