/**
 * Mirroring: a copy of a share of a service's requests goes to its mirror version, off the
 * request path. The caller's answer never waits for, or depends on, the copy: the copy is sent
 * after the caller's body has arrived, only to a mirror replica that is free at that moment (no
 * queueing, so a slow or dead mirror cannot build up work or memory), its answer is read and
 * dropped, and every outcome is only counted.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { MAX_MIRRORED_BODY_BYTES } from "../core/versions";
import type { ServiceBalancer } from "./balancer";

/** What became of one mirrored copy. */
export type MirrorOutcome = "answered" | "failed" | "busy" | "too_large";

/**
 * Keeps a copy of a request body for its mirror, up to MAX_MIRRORED_BODY_BYTES: a larger body
 * is not mirrored (and the copy held so far is let go at once).
 */
export class MirrorTap {
  private chunks: Buffer[] = [];
  private bytes = 0;
  tooLarge = false;

  add(chunk: Buffer): void {
    if (this.tooLarge) return;
    this.bytes += chunk.length;
    if (this.bytes > MAX_MIRRORED_BODY_BYTES) {
      this.tooLarge = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  body(): Buffer {
    return Buffer.concat(this.chunks, this.bytes);
  }
}

export interface MirrorRequest {
  method: Dispatcher.HttpMethod;
  path: string;
  /** The headers the live replica got (already without credentials and hop-by-hop headers). */
  headers: string[] | IncomingHttpHeaders;
}

/**
 * Sends `tap`'s copy of a request to a free replica of the mirror version, in the background.
 * `count` hears the outcome; `timeoutMs` bounds how long a replica holds a mirror slot.
 */
export function sendMirror(
  mirror: ServiceBalancer,
  request: MirrorRequest,
  tap: MirrorTap,
  timeoutMs: number,
  count: (outcome: MirrorOutcome) => void,
): void {
  if (tap.tooLarge) return count("too_large");
  const slot = mirror.tryAcquire();
  if (!slot) return count("busy");
  void (async () => {
    let outcome: MirrorOutcome = "failed";
    try {
      const res = await slot.pool.request({ ...request, body: tap.body(), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
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
