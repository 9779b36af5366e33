/**
 * Reading a request before any service is involved: which service and endpoint a path names, the
 * methods each endpoint takes, the request id, the checks every request must pass, and the body
 * size a service accepts.
 */
import { randomUUID } from "node:crypto";
import type * as http from "node:http";
import { headerReader, readRequestIds, type RequestIds } from "../core/contracts/requestId";
import type { ServiceBalancer } from "./balancer";
import { MAX_REQUEST_HEADERS } from "./frontDoor";

/**
 * A request for a service. v1 (`/api/v1/service/<service>/<tail>`) follows Azure ML: `score`,
 * `swagger.json` and the empty tail (`health`, the server's `GET /`) are the replica's routes,
 * any other tail is `unrouted`; every method reaches the replica, which answers what it does not
 * route as its kind of server does (Azure ML's 404/405 for a Python service). v2 routes are the
 * router's to check.
 */
export type Route = { service: string; kind: "score" | "swagger" | "health" | "infer" | "modelReady" } | { service: string; kind: "unrouted"; path: string };

/** Azure ML v1's public path prefix: `/api/v1/service/<service>/<tail>`. */
export const V1_PREFIX = "/api/v1/service/";
const V1 = V1_PREFIX;
const V2 = "/v2/models/";

const V1_TAILS = new Map<string, "score" | "swagger" | "health">([
  ["score", "score"],
  ["swagger.json", "swagger"],
  ["", "health"],
]);
const V2_TAILS = new Map<string, "infer" | "modelReady">([
  ["infer", "infer"],
  ["ready", "modelReady"],
]);

/** `<service>/<tail>` after a prefix, split at the first slash. */
function serviceAndTail(rest: string): [service: string, tail: string] | undefined {
  const slash = rest.indexOf("/");
  return slash <= 0 ? undefined : [rest.slice(0, slash), rest.slice(slash + 1)];
}

export function parseRoute(path: string): Route | undefined {
  if (path.startsWith(V1)) {
    const st = serviceAndTail(path.slice(V1.length));
    if (!st) return undefined;
    const kind = V1_TAILS.get(st[1]);
    return kind ? { service: st[0], kind } : { service: st[0], kind: "unrouted", path };
  }
  if (path.startsWith(V2)) {
    const st = serviceAndTail(path.slice(V2.length));
    const kind = st && V2_TAILS.get(st[1]);
    return st && kind ? { service: st[0], kind } : undefined;
  }
  return undefined;
}

/**
 * The methods a route takes, checked by the router; undefined: every method goes to the replica
 * (Azure ML's scoring server routes GET, POST and OPTIONS to `/score`, where `@rawhttp` scripts
 * answer them, and answers the rest itself).
 */
export function allowedMethods(route: Route): readonly string[] | undefined {
  return route.kind === "infer" ? ["POST"] : route.kind === "modelReady" ? ["GET"] : undefined;
}

/**
 * Whether a request needs credentials: all do but reading a v1 service's swagger.json (clients
 * fetch it to learn the input format) and its health route (its swagger.json lists it without
 * security), which carry no body.
 */
export function needsCredentials(route: Route, method: string | undefined): boolean {
  return !((route.kind === "swagger" || route.kind === "health") && (method === "GET" || method === "HEAD"));
}

/**
 * The replica's path for a route, with the client's query string (GET scoring parameters,
 * swagger.json?version=3). An unrouted tail goes with its whole public path, which no replica
 * routes: the replica answers its own 404, and its probes and metrics stay out of reach.
 */
export function upstreamPath(route: Route, query: string): string {
  switch (route.kind) {
    case "score":
      return `/score${query}`;
    case "swagger":
      return `/swagger.json${query}`;
    case "health":
      return `/${query}`;
    case "unrouted":
      return route.path + query;
    case "infer":
      return `/v2/models/${route.service}/infer${query}`;
    case "modelReady":
      return `/v2/models/${route.service}/ready${query}`;
  }
}

/** An `http`/`https` absolute-form target's scheme and authority (RFC 9112 §3.2.2). */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;

/**
 * Splits the request target at `?`; the query keeps its `?` so it can be appended as is. An
 * absolute-form target (what a client sends to a proxy, and a server must accept) is routed as
 * its path and query; its authority is not the router's to check (RFC 9112 §3.2.2 puts it in
 * place of Host, which the router does not use either).
 */
export function splitTarget(url: string | undefined): { path: string; query: string } {
  let target = url ?? "/";
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) {
    target = target.slice(absolute[0].length);
    // `http://host` and `http://host?q` name the root (RFC 9110 §4.2.3).
    if (!target.startsWith("/")) target = `/${target}`;
  }
  const q = target.indexOf("?");
  return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q) };
}

/** The router's refusal of a request before any service is involved. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  /** The request's framing cannot be trusted (or the client must start over): the connection is closed. */
  close: boolean;
}

/**
 * The request's ids (core/contracts/requestId.ts), or the 431 for one longer than a replica accepts: the
 * router refuses it as Azure ML's server did, rather than replace it, so that a v1 client sees
 * the answer it got in Azure ML, and a JavaScript service the same as a Python one.
 */
export function requestIdsOf(req: http.IncomingMessage): { ids: RequestIds } | { refusal: Refusal } {
  const read = readRequestIds(headerReader(req.headers), randomUUID);
  return "ids" in read ? read : { refusal: { status: 431, code: "RequestIdTooLong", message: read.tooLong, close: false } };
}

/** A refusal whose request cannot be trusted further: its connection is closed. */
function closing(status: number, code: string, message: string): Refusal {
  return { status, code, message, close: true };
}

/** Whether a raw header name is `lower` in any case (the usual spellings first: no allocation). */
function isNamed(name: string, lower: string, usual: string): boolean {
  return name.length === lower.length && (name === usual || name === lower || name.toLowerCase() === lower);
}

/**
 * Checks of the request's form that need no service (RFC 9112 where Node's parser lets a request
 * through): header count, exactly one Host on HTTP/1.1 (§3.2), a host in an absolute-form target
 * (RFC 9110 §4.2.1), a transfer coding the router can pass on (§6.1: only chunked; HTTP/1.0 has
 * none), one Authorization. Undefined when fine.
 */
export function malformed(req: http.IncomingMessage): Refusal | undefined {
  const raw = req.rawHeaders;
  if (raw.length / 2 > MAX_REQUEST_HEADERS) return closing(431, "HeadersTooLarge", `more than ${MAX_REQUEST_HEADERS} request headers`);
  // Field lines, not `headers`: Node keeps only the first Host and the first Authorization there.
  let hosts = 0;
  let authorizations = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (isNamed(raw[i], "host", "Host")) hosts++;
    else if (isNamed(raw[i], "authorization", "Authorization")) authorizations++;
  }
  if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && hosts === 0) return closing(400, "BadRequest", "HTTP/1.1 requests need a Host header");
  if (hosts > 1) return closing(400, "BadRequest", "more than one Host header");
  if (ABSOLUTE_FORM.exec(req.url ?? "")?.[1] === "") return closing(400, "BadRequest", "an absolute-form request target needs a host");
  const coding = req.headers["transfer-encoding"];
  if (coding !== undefined) {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return closing(400, "BadRequest", "Transfer-Encoding in an HTTP/1.0 request");
    // Node's parser lets a coding before chunked (`gzip, chunked`) through, and the replica would
    // get the coded bytes as the body; others it refuses, some only once the body arrives.
    if (coding.toLowerCase() !== "chunked") return closing(501, "NotImplemented", `Transfer-Encoding '${coding}' is not supported: only chunked`);
  }
  if (authorizations > 1) return closing(400, "BadRequest", "more than one Authorization header");
  return undefined;
}

/** The largest body per service: the router's, or less when a service's replicas' memory cannot hold that much. */
export class PayloadLimit {
  constructor(readonly routerBytes: number) {}

  of(b: ServiceBalancer): number {
    return Math.min(this.routerBytes, b.settings.maxBodyBytes ?? this.routerBytes);
  }

  /** The 413 message; names the service when its own limit is the tighter one, so the client knows why. */
  tooLarge(b: ServiceBalancer, size?: string): string {
    const limit = this.of(b);
    const why = limit < this.routerBytes ? ` of service '${b.settings.name}' (what its replicas' memory holds)` : "";
    return `request body${size ? ` of ${size} bytes` : ""} exceeds the limit${why} of ${limit} bytes`;
  }
}
