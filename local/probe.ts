/**
 * Waiting for a process's readiness endpoint, as a Kubernetes readiness probe would: local mode's
 * supervisor, `npm run build-images` and the bundle test all start servers and wait for them.
 */

export interface WaitReadyOptions {
  timeoutMs: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** Stop waiting as soon as this turns false (e.g. the process exited). */
  alive?: () => boolean;
  /** Sent with each attempt (a local replica requires local mode's replica token). */
  headers?: Record<string, string>;
}

/** Resolves true on the first 200 from `url`, false once `timeoutMs` passed or `alive()` is false. */
export async function waitReady(url: string, opts: WaitReadyOptions): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  const alive = opts.alive ?? (() => true);
  while (alive() && Date.now() < deadline) {
    const status = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status,
      () => 0, // not listening yet
    );
    if (status === 200) return true;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  return false;
}
