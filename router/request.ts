/**
 * Reading a request before any service is involved: which service and endpoint a path names, the
 * methods each endpoint takes, the request id, the checks every request must pass, and the body
 * size a service accepts.
 */
import { randomUUID } from "node:crypto";
import type * as http from "node:http";
import type { ServiceBalancer } from "./balancer";
import { MAX_REQUEST_HEADERS } from "./frontDoor";

export type Route = { service: string; kind: "score" | "swagger" | "infer" | "modelReady" };

const V1 = "/api/v1/service/";
const V2 = "/v2/models/";

/** Route kinds by prefix and the path segment after `<service>/`. */
const ROUTES: [prefix: string, tails: ReadonlyMap<string, Route["kind"]>][] = [
  [
    V1,
    new Map([
      ["score", "score"],
      ["swagger.json", "swagger"],
    ]),
  ],
  [
    V2,
    new Map([
      ["infer", "infer"],
      ["ready", "modelReady"],
    ]),
  ],
];

export function parseRoute(path: string): Route | undefined {
  for (const [prefix, tails] of ROUTES) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash <= 0) return undefined;
    const kind = tails.get(rest.slice(slash + 1));
    return kind && { service: rest.slice(0, slash), kind };
  }
  return undefined;
}

/**
 * Methods per route. Scoring takes what Azure ML's scoring server routes to `/score` (GET with the
 * query parameters for `run()`, HEAD and OPTIONS, which `@rawhttp` scripts answer themselves),
 * each authenticated like a POST.
 */
export const ALLOWED_METHODS: Record<Route["kind"], readonly string[]> = { score: ["POST", "GET", "HEAD", "OPTIONS"], infer: ["POST"], swagger: ["GET"], modelReady: ["GET"] };

const UPSTREAM_PATH: Record<"score" | "swagger", string> = { score: "/score", swagger: "/swagger.json" };

/** The replica's path for a route; the query string reaches the model (GET scoring parameters, swagger.json?version=3). */
export function upstreamPath(route: Route, query: string): string {
  return (route.kind === "infer" ? `/v2/models/${route.service}/infer` : UPSTREAM_PATH[route.kind === "swagger" ? "swagger" : "score"]) + query;
}

/** Splits the request target at `?`; the query keeps its `?` so it can be appended as is. */
export function splitTarget(url: string | undefined): { path: string; query: string } {
  const target = url ?? "/";
  const q = target.indexOf("?");
  return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q) };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's request id when it is a safe token (it is echoed in headers and logs), else a new one. */
export function requestIdOf(req: http.IncomingMessage): string {
  const given = req.headers["x-ms-request-id"] ?? req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Checks that need no service: header count, Host, one Authorization. Undefined when fine. */
export function malformed(req: http.IncomingMessage): [status: number, code: string, message: string] | undefined {
  if (req.rawHeaders.length / 2 > MAX_REQUEST_HEADERS) return [431, "HeadersTooLarge", `more than ${MAX_REQUEST_HEADERS} request headers`];
  if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) return [400, "BadRequest", "HTTP/1.1 requests need a Host header"];
  let auth = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 13 && req.rawHeaders[i].toLowerCase() === "authorization") auth++;
  if (auth > 1) return [400, "BadRequest", "more than one Authorization header"];
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
