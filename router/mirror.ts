/**
 * Mirroring: a copy of a share of a service's requests goes to its mirror version, off the
 * request path. The caller's answer never waits for, or depends on, the copy: the copy is sent
 * only for a body the router already holds whole (at most MAX_MIRRORED_BODY_BYTES: larger ones
 * are counted, not mirrored), only to a mirror replica that is free at that moment (no queueing,
 * so a slow or dead mirror cannot build up work or memory), its answer is read and dropped, and
 * every outcome is only counted.
 *
 * The copy is a span of its own in the caller's trace: a new span id in its `traceparent`, and the
 * original's parent span id in its `tracestate` (MIRROR_OF_KEY), which the
 * mirror replica records as a span link: plain HTTP has no header for "linked to", and a shared
 * parent would make the copy look like a retry of the original.
 */
import type { Dispatcher } from "undici";
import { formatTraceparent, mirrorTracestate, newSpanId, parseTraceparent } from "../core/contracts/traceContext";
import { MAX_MIRRORED_BODY_BYTES, VERSION_HEADER } from "../core/decisions/versions";
import type { ServiceBalancer } from "./balancer";
import { randomHex } from "./proxy";
import type { Replica } from "./types";

/** A mirror replica that refused a connection is skipped this long: a dead mirror then costs one connection attempt a second, not one per copy. */
const DOWN_MS = 1_000;
/** Errors of the connect phase (nothing listens, or the host is gone). */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
const downUntil = new WeakMap<Replica, number>();

/** What became of one mirrored copy. */
export type MirrorOutcome = "answered" | "failed" | "busy" | "too_large";

export interface MirrorRequest {
  method: Dispatcher.HttpMethod;
  path: string;
  /** The headers the live replica got (already without credentials and hop-by-hop headers); its traceparent is replaced by the copy's own. */
  headers: string[] | Record<string, string>;
  /** The whole body; undefined when the router does not hold it whole (it was larger than its buffer). */
  body: Buffer | null | undefined;
}

/**
 * Sends a copy of a request to a free replica of the mirror version, in the background.
 * `count` hears the outcome; `timeoutMs` bounds how long a replica holds a mirror slot.
 */
export function sendMirror(mirror: ServiceBalancer, request: MirrorRequest, timeoutMs: number, count: (outcome: MirrorOutcome) => void): void {
  const { body } = request;
  if (body === undefined || (body !== null && body.length > MAX_MIRRORED_BODY_BYTES)) return count("too_large");
  const slot = mirror.tryAcquire();
  if (!slot) return count("busy");
  if ((downUntil.get(slot.replica) ?? 0) > Date.now()) {
    mirror.release(slot);
    return count("failed");
  }
  const headers = mirrorHeaders(request.headers, mirror.settings.version?.name);
  void (async () => {
    let outcome: MirrorOutcome = "failed";
    try {
      const res = await slot.pool.request({ method: request.method, path: request.path, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await res.body.dump();
      if (res.statusCode < 500) outcome = "answered";
    } catch (err) {
      // A dead, slow or broken mirror is only counted: nothing of it reaches the caller.
      if (CONNECT_ERRORS.has((err as NodeJS.ErrnoException).code ?? "")) downUntil.set(slot.replica, Date.now() + DOWN_MS);
    } finally {
      mirror.release(slot);
    }
    count(outcome);
  })();
}

/**
 * The copy's headers: the mirror's version as VERSION_HEADER (the live request's names the live
 * version), and the live request's trace with a span id of its own, its tracestate naming the
 * live request's router span (core/contracts/traceContext.ts MIRROR_OF_KEY). A copy without a valid
 * traceparent keeps the trace headers it has.
 */
export function mirrorHeaders(headers: string[] | Record<string, string>, version: string | undefined): string[] {
  const flat = Array.isArray(headers) ? headers : Object.entries(headers).flat();
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    if (name === "traceparent") traceparent = flat[i + 1];
    else if (name === "tracestate") tracestate = flat[i + 1];
    else if (name !== VERSION_HEADER || version === undefined) out.push(flat[i], flat[i + 1]);
  }
  if (version !== undefined) out.push(VERSION_HEADER, version);
  const live = parseTraceparent(traceparent);
  if (live) out.push("traceparent", formatTraceparent(live.traceId, newSpanId(randomHex), live.flags), "tracestate", mirrorTracestate(tracestate, live.parentId));
  else {
    if (traceparent !== undefined) out.push("traceparent", traceparent);
    if (tracestate !== undefined) out.push("tracestate", tracestate);
  }
  return out;
}
