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
  void (async () => {
    let outcome: MirrorOutcome = "failed";
    try {
      const res = await slot.pool.request({ method: request.method, path: request.path, headers: request.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await res.body.dump();
      if (res.statusCode < 500) outcome = "answered";
    } catch {
      // A dead, slow or broken mirror is only counted: nothing of it reaches the caller.
    } finally {
      mirror.release(slot);
    }
    count(outcome);
  })();
}
