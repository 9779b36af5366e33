/**
 * Reading request bodies so that a slow client costs the router bounded, counted memory and disk,
 * never a replica: the whole body is read (its first part into memory, the rest into a spool
 * file, router/spool.ts) *before* a replica slot is taken, under a deadline derived from its size
 * and, past the first part, a minimum transfer rate. The replica then gets the body at its own
 * pace, from the router.
 */
import type { IncomingMessage } from "node:http";
import { Budget, Spool } from "./spool";

export interface BodyLimits {
  /** Bytes of one body held in memory; the rest goes to the spool folder. Default 1 MiB. */
  bufferBytes: number;
  /** Memory all bodies and unread answers may hold together; beyond it bodies spill to disk. Default 256 MiB. */
  budgetBytes: number;
  /** Folder for the part of a body beyond `bufferBytes`; absent: bodies are held in memory only. */
  spoolDir?: string;
  /** Disk all spooled bodies may hold together; beyond it (and the memory budget) new bodies get 503. Default 2 GiB. */
  spoolBytes: number;
  /** Slowest accepted transfer, averaged over `rateWindowMs`, of a body past its first part and of an answer to a client. Default 64 KiB/s. */
  minBytesPerSecond: number;
  /** Window of the rate check, and the grace every deadline starts with. Default 10 s. */
  rateWindowMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { bufferBytes: 1024 * 1024, budgetBytes: 256 * 1024 * 1024, spoolBytes: 2 * 1024 * 1024 * 1024, minBytesPerSecond: 64 * 1024, rateWindowMs: 10_000 };

/** Bytes waiting for the disk above which the client is paused until they are written. */
const MAX_UNWRITTEN_BYTES = 4 * 1024 * 1024;

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

/**
 * The bodies being held already fill the memory and disk budgets (or the disk failed): 503, try
 * again shortly. The message is the caller's; a disk failure's `cause`, for the router's log only,
 * may name the spool file's path, which the caller has no business seeing.
 */
export class BodyBudgetError extends Error {}

/** The router's storage for bodies: memory (shared with answers a client has not read yet) and disk. */
export interface BodyStore {
  memory: Budget;
  disk: Budget;
}

export function bodyStore(limits: BodyLimits): BodyStore {
  return { memory: new Budget(limits.budgetBytes), disk: new Budget(limits.spoolBytes) };
}

/** A complete body, ready to be sent to a replica (as often as attempts need). */
export interface HeldBody {
  bytes: number;
  /** The body as one buffer when it is all in memory (most bodies); else read it with `read()`. */
  whole: Buffer | undefined;
  read(): AsyncGenerator<Buffer>;
  /** Returns memory and disk to the budgets (once the body has been sent). */
  release(): void;
}

/**
 * Reads the whole body: the first `limits.bufferBytes` within the deadline for that much data,
 * the rest at no less than the minimum rate and within the whole body's deadline.
 * Rejects with PayloadTooLargeError, SlowBodyError or BodyBudgetError (having released what it held).
 */
export function readBody(req: IncomingMessage, opts: { maxBody: number; declared?: number; limits: BodyLimits; store: BodyStore }): Promise<HeldBody> {
  const { limits } = opts;
  const spool = new Spool({ memoryShare: limits.bufferBytes, memory: opts.store.memory, disk: opts.store.disk, dir: limits.spoolDir });
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let settled = false;
    let guard: RateGuard | undefined;
    const firstPart = Math.min(opts.declared ?? limits.bufferBytes, limits.bufferBytes);
    const timer = setTimeout(() => fail(new SlowBodyError(`request body not received within ${bodyDeadlineMs(firstPart, limits)} ms`)), bodyDeadlineMs(firstPart, limits));
    const cleanup = () => {
      settled = true;
      clearTimeout(timer);
      guard?.stop();
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const fail = (err: Error) => {
      if (settled) return;
      cleanup();
      spool.release();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > opts.maxBody) return fail(new PayloadTooLargeError(opts.maxBody));
      if (!spool.add(chunk)) return fail(new BodyBudgetError("the router is holding as many request bodies as its memory and disk budgets allow"));
      if (guard === undefined && bytes > limits.bufferBytes) {
        // Past the first part: from now on the rate counts, and the whole body's deadline.
        clearTimeout(timer);
        guard = new RateGuard(limits, opts.declared ?? opts.maxBody, () => bytes, fail);
      }
      if (spool.unwritten > MAX_UNWRITTEN_BYTES) {
        req.pause();
        spool.stored().then(
          () => settled || req.resume(),
          () => undefined, // reported at the end
        );
      }
    };
    const onEnd = () => {
      cleanup();
      spool.stored().then(
        () => resolve({ bytes, whole: spool.whole(), read: () => spool.read(), release: () => spool.release() }),
        (err: Error) => {
          spool.release();
          reject(new BodyBudgetError("the router could not spool the request body (a disk error, in the router's log)", { cause: err }));
        },
      );
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
