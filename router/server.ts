/**
 * The request router (the azureml-fe equivalent): `startRouter` serves the v1 scoring path and
 * the Open Inference Protocol v2 paths, authenticates per service, enforces the payload limit,
 * balances across ready replicas with a bounded queue, autoscales model services, and drains
 * gracefully. Discovery, keys, scaling and coordination are injected (router/types.ts).
 *
 * This file composes the parts: request parsing (request.ts), authentication (authGate.ts),
 * forwarding (forward.ts), the public port's order of checks (handler.ts), the admin port
 * (admin.ts) and the service table (services.ts).
 */
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import type { TokenIssuer } from "../core/decisions/auth";
import type { RestartSummary } from "../core/decisions/serviceState";
import { logLevel } from "../core/contracts/naming";
import { MAX_PAYLOAD_BYTES } from "../core/decisions/payloadLimit";
import { createAdminServer } from "./admin";
import { AuthGate } from "./authGate";
import { Autoscaler, type AutoscalerOptions } from "./autoscaler";
import { DEFAULT_BODY_LIMITS, bodyDeadlineMs, bodyStore, type BodyLimits } from "./body";
import { Forwarder } from "./forward";
import { FRONT_DOOR_SERVER_OPTIONS, connectionCap, guardFrontDoor, openFileLimit } from "./frontDoor";
import { publicHandler, type Lifecycle } from "./handler";
import { CallbackScaler, SingleCoordinator } from "./inProcess";
import { RouterMetrics } from "./metrics";
import { PayloadLimit } from "./request";
import { sendError } from "./respond";
import { clearSpool } from "./spool";
import { trackServices } from "./services";
import { StatusSampler } from "./status";
import type { Coordinator, Discovery, KeyStore, Scaler, ServiceLoad } from "./types";

export interface RouterOptions {
  discovery: Discovery;
  keys: KeyStore;
  /** Changes replica counts; default: none (autoscaling decisions are only logged). */
  scaler?: Scaler;
  /** Default: this router is the only one. */
  coordinator?: Coordinator;
  /** Token issuer for services with token auth. */
  tokenIssuer?: TokenIssuer;
  /** Listen address; default 127.0.0.1 and an ephemeral port. */
  host?: string;
  port?: number;
  /** Admin listener (/metrics, /internal/load, probes); default: an ephemeral port on `host`. */
  adminPort?: number;
  /** PEM certificate and key: serve HTTPS on `port`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest request body; default 100 MiB. */
  maxBodyBytes?: number;
  /** Requests allowed to wait per service before answering 503 at once; default 1,000. */
  maxQueueLength?: number;
  /** Random numbers in [0, 1) for the traffic split and mirroring; default Math.random (tests fix it). */
  random?: () => number;
  autoscale?: AutoscalerOptions;
  /** Time a client has to send its request headers (slow-loris guard); default 10 s. */
  headersTimeoutMs?: number;
  /** Open client connections at most on the public port; default from the open-file limit (router/frontDoor.ts). */
  maxConnections?: number;
  /** Body buffering and minimum transfer rate (defaults in router/body.ts). */
  bodyLimits?: Partial<BodyLimits>;
  /** Keep the client's X-Forwarded-For chain (a trusted proxy sits in front); default: replace it. */
  trustForwardedFor?: boolean;
  /** Local mode: a secret every replica requires, sent with each forwarded request (core/contracts/replicaToken.ts). */
  replicaToken?: string;
  /** Local mode: each service version's replica restarts and crash loop, for the status page. */
  replicaRestarts?: (unit: string) => RestartSummary | undefined;
  /** Longest token lifetime accepted; default a day. */
  maxTokenLifetimeSeconds?: number;
  /**
   * On close, how long the router keeps answering (each answer with `Connection: close`) before
   * it stops listening: clients with idle keep-alive connections move elsewhere instead of
   * racing a closing socket. Default 1 s.
   */
  drainGraceMs?: number;
  /** Longest time `close()` waits for in-flight requests; default the longest scoring timeout + 5 s. */
  drainTimeoutMs?: number;
  logger?: Logger;
}

export interface RouterHandle {
  url: string;
  port: number;
  adminUrl: string;
  metrics: RouterMetrics;
  autoscaler: Autoscaler;
  log: Logger;
  /** Requests in flight and queued per service (what peers report to the leader). */
  load(): Record<string, ServiceLoad>;
  /** Readiness off, stop accepting, wait for in-flight requests, close. */
  close(): Promise<void>;
}

export async function startRouter(opts: RouterOptions): Promise<RouterHandle> {
  const log = opts.logger ?? pino({ name: "aks-inference-router", level: logLevel(process.env) });
  const metrics = new RouterMetrics();
  const limit = new PayloadLimit(opts.maxBodyBytes ?? MAX_PAYLOAD_BYTES);
  const bodyLimits: BodyLimits = { ...DEFAULT_BODY_LIMITS, spoolDir: os.tmpdir(), ...withoutUndefined(opts.bodyLimits) };
  if (bodyLimits.spoolDir) await clearSpool(bodyLimits.spoolDir);
  const store = bodyStore(bodyLimits);
  metrics.bodyBufferSource = () => store.memory.used;
  const host = opts.host ?? "127.0.0.1";
  const lifecycle: Lifecycle = { ready: false, draining: false, inFlight: 0 };
  const { balancers, versions } = await trackServices(opts.discovery, opts.maxQueueLength ?? 1000, log);

  const coordinator = opts.coordinator ?? new SingleCoordinator();
  const status = new StatusSampler(metrics, () => new Map([...balancers].map(([name, b]) => [name, { ...b.settings.autoscale, autoscale: b.settings.autoscale.enabled }])), coordinator, { restarts: opts.replicaRestarts });
  const autoscaler = new Autoscaler(
    balancers,
    opts.scaler ?? new CallbackScaler((service, n) => log.warn({ service, replicas: n }, "autoscale decision with no scaler configured")),
    coordinator,
    metrics,
    log,
    {
      ...opts.autoscale,
      onDecision: (d) => {
        status.decided(d);
        opts.autoscale?.onDecision?.(d);
      },
    },
  );

  const onRequest = publicHandler({
    balancers,
    versions,
    random: opts.random ?? Math.random,
    limit,
    auth: new AuthGate({ keys: opts.keys, tokenIssuer: opts.tokenIssuer, maxTokenLifetimeSeconds: opts.maxTokenLifetimeSeconds, metrics, log }),
    forwarder: new Forwarder({ balancers, limit, bodyLimits, bodyStore: store, metrics, log, trustForwardedFor: opts.trustForwardedFor, replicaToken: opts.replicaToken }),
    lifecycle,
    metrics,
    log,
  });
  const { server, maxConnections } = publicServer(opts, onRequest, limit, bodyLimits, metrics, log);
  const admin = createAdminServer({ metrics, status, autoscaler, isReady: () => lifecycle.ready });

  const port = await listen(server, host, opts.port ?? 0);
  const adminPort = await listen(admin, host, opts.adminPort ?? 0);
  lifecycle.ready = true;
  const scheme = opts.tls ? "https" : "http";
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  log.info({ port, adminPort, tls: Boolean(opts.tls), maxConnections, services: [...balancers.keys()] }, "router listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.ready = false;
      lifecycle.draining = true;
      autoscaler.close();
      status.close();
      await new Promise((r) => setTimeout(r, opts.drainGraceMs ?? 1_000));
      server.close();
      server.closeIdleConnections();
      const longest = Math.max(0, ...[...balancers.values()].map((b) => b.settings.scoringTimeoutMs));
      const deadline = Date.now() + (opts.drainTimeoutMs ?? longest + 5_000);
      while (lifecycle.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      admin.close();
      admin.closeAllConnections();
      await Promise.all([...balancers.values()].map((b) => b.close()));
      await opts.discovery.close();
      await opts.keys.close();
      await opts.coordinator?.close();
      log.info({ unfinished: lifecycle.inFlight }, "router stopped");
    })());

  return {
    url: `${scheme}://${hostForUrl}:${port}`,
    port,
    adminUrl: `http://${hostForUrl}:${adminPort}`,
    metrics,
    autoscaler,
    log,
    load: () => autoscaler.localLoad(),
    close,
  };
}

/** The public (scoring) port's server, with the slow-client timeouts and the front door's guards. */
function publicServer(
  opts: RouterOptions,
  onRequest: http.RequestListener,
  limit: PayloadLimit,
  bodyLimits: BodyLimits,
  metrics: RouterMetrics,
  log: Logger,
): { server: http.Server; maxConnections: number } {
  // Slow clients: headers must arrive within 10 s (checked every second, not Node's default 30 s);
  // the whole request within the deadline of the largest accepted body (router/body.ts).
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const serverOptions = { ...FRONT_DOOR_SERVER_OPTIONS, connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeout / 4))) };
  const server = opts.tls ? https.createServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key }, onRequest) : http.createServer(serverOptions, onRequest);
  server.headersTimeout = headersTimeout;
  server.requestTimeout = headersTimeout + bodyDeadlineMs(limit.routerBytes, bodyLimits);
  const maxConnections = connectionCap(openFileLimit(), opts.maxConnections);
  guardFrontDoor(server, { maxConnections, metrics, log, sendError, onRequest });
  return { server, maxConnections };
}

/** The settings given (an absent environment variable arrives as undefined and must not hide a default). */
function withoutUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Listens on `host`; resolves with the port actually taken (0 asks for an ephemeral one). */
function listen(s: http.Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
  });
}
