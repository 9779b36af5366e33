/**
 * Reading request bodies so that a slow client costs the router bounded, counted memory and never
 * a replica: the first part of every body (up to `bufferBytes`) is read into memory *before* a
 * replica slot is taken, under a deadline derived from its size; a larger body's remainder is
 * streamed to the replica under a minimum transfer rate. The memory all buffered bodies hold
 * together is capped by a budget.
 */
import type { IncomingMessage } from "node:http";

export interface BodyLimits {
  /** Bytes read into memory before a replica slot is taken; larger bodies stream the rest. Default 1 MiB. */
  bufferBytes: number;
  /** Memory all buffered bodies may hold together; beyond it new bodies get 503. Default 256 MiB. */
  budgetBytes: number;
  /** Slowest accepted body transfer, averaged over `rateWindowMs`. Default 64 KiB/s. */
  minBytesPerSecond: number;
  /** Window of the rate check, and the grace every body deadline starts with. Default 10 s. */
  rateWindowMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { bufferBytes: 1024 * 1024, budgetBytes: 256 * 1024 * 1024, minBytesPerSecond: 64 * 1024, rateWindowMs: 10_000 };

/**
 * How long a body of `bytes` may take at the slowest accepted rate, plus the grace window:
 * a 1 MiB body gets 26 s, a 100 MB one about 26 minutes, an empty one 10 s.
 */
export function bodyDeadlineMs(bytes: number, limits: BodyLimits): number {
  return limits.rateWindowMs + Math.ceil((bytes / limits.minBytesPerSecond) * 1000);
}

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds the ${limit}-byte limit`);
  }
}

/** The client sent its body slower than the minimum rate or past its deadline: 408. */
export class SlowBodyError extends Error {}

/** The bodies being buffered already hold the whole budget: 503, try again shortly. */
export class BodyBudgetError extends Error {}

/** Memory held by buffered request bodies, shared by all requests of one router. */
export class BodyBudget {
  used = 0;
  constructor(readonly capBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.capBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** What was read before a slot is taken: the whole body, or its first part with more to stream. */
export interface BufferedBody {
  chunks: Buffer[];
  bytes: number;
  complete: boolean;
  /** Returns the memory to the budget (once the body has been handed on). */
  release(): void;
}

/**
 * Reads up to `limits.bufferBytes` of the body (more only if one chunk crosses it) within the
 * deadline for that much data; the request is left paused after the last chunk read.
 * Rejects with PayloadTooLargeError, SlowBodyError or BodyBudgetError.
 */
export function bufferBody(req: IncomingMessage, opts: { maxBody: number; declared?: number; limits: BodyLimits; budget: BodyBudget }): Promise<BufferedBody> {
  const { limits, budget } = opts;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let held = 0;
    const release = () => {
      budget.give(held);
      held = 0;
    };
    const expected = Math.min(opts.declared ?? limits.bufferBytes, limits.bufferBytes);
    const timer = setTimeout(() => fail(new SlowBodyError(`request body not received within ${bodyDeadlineMs(expected, limits)} ms`)), bodyDeadlineMs(expected, limits));
    const cleanup = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const fail = (err: Error) => {
      cleanup();
      release();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > opts.maxBody) return fail(new PayloadTooLargeError(opts.maxBody));
      if (!budget.take(chunk.length)) return fail(new BodyBudgetError("the router is holding as many request bodies as its memory budget allows"));
      held += chunk.length;
      chunks.push(chunk);
      if (bytes >= limits.bufferBytes) {
        cleanup();
        req.pause();
        resolve({ chunks, bytes, complete: false, release });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, bytes, complete: true, release });
    };
    const onError = (err: Error) => fail(err);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * Watches a streamed body's progress: fails when, after the grace window, the bytes of the last
 * window fall below the minimum rate, or when the whole body's deadline passes.
 */
export class RateGuard {
  private readonly samples: { at: number; bytes: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    limits: BodyLimits,
    total: number,
    private readonly progress: () => number,
    onSlow: (err: SlowBodyError) => void,
    now: () => number = Date.now,
  ) {
    const start = now();
    const deadline = start + bodyDeadlineMs(total, limits);
    this.samples.push({ at: start, bytes: progress() });
    this.timer = setInterval(
      () => {
        const t = now();
        const bytes = this.progress();
        this.samples.push({ at: t, bytes });
        while (this.samples.length > 1 && t - this.samples[1].at >= limits.rateWindowMs) this.samples.shift();
        const oldest = this.samples[0];
        const windowFull = t - oldest.at >= limits.rateWindowMs;
        const rate = ((bytes - oldest.bytes) * 1000) / Math.max(1, t - oldest.at);
        if (t > deadline) onSlow(new SlowBodyError(`request body not received within ${deadline - start} ms`));
        else if (windowFull && rate < limits.minBytesPerSecond) onSlow(new SlowBodyError(`request body arrived at ${Math.round(rate)} B/s, below the minimum of ${limits.minBytesPerSecond} B/s`));
      },
      Math.min(1_000, Math.max(50, Math.floor(limits.rateWindowMs / 10))),
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
