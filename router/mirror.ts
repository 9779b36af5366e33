/**
 * Mirroring: a copy of a share of a service's requests goes to its mirror version, off the
 * request path. The caller's answer never waits for, or depends on, the copy: the copy is sent
 * only for a body the router already holds whole (at most MAX_MIRRORED_BODY_BYTES: larger ones
 * are counted, not mirrored), only to a mirror replica that is free at that moment (no queueing,
 * so a slow or dead mirror cannot build up work or memory), its answer is read and dropped, and
 * every outcome is only counted.
 */
import type { Dispatcher } from "undici";
import { MAX_MIRRORED_BODY_BYTES } from "../core/versions";
import type { ServiceBalancer } from "./balancer";
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
  /** The headers the live replica got (already without credentials and hop-by-hop headers). */
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
  void (async () => {
    let outcome: MirrorOutcome = "failed";
    try {
      const res = await slot.pool.request({ method: request.method, path: request.path, headers: request.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
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
