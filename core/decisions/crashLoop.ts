/**
 * Crash loops as Kubernetes handles them (CrashLoopBackOff): a replica that exits is restarted
 * after a delay that starts at 10 s and doubles with each crash up to 5 minutes, and that goes
 * back to 10 s once the replica has run 10 minutes without crashing. Local mode's supervisor
 * restarts with these delays; `state`, `status` and the status page describe a looping replica
 * in the same words on a cluster and locally:
 * `CrashLoopBackOff (restarts 5, last exit: code 1 "ModuleNotFoundError: ..." 12 s ago)`.
 * Pure: the time is passed in, and the policy too (tests shrink it to milliseconds).
 */

export interface BackoffPolicy {
  /** Delay before the first restart. */
  baseMs: number;
  /** Longest delay. */
  capMs: number;
  /** A run at least this long resets the delay to `baseMs` (and ends the loop). */
  resetAfterMs: number;
}

/** The kubelet's: 10 s doubling to 5 minutes, reset after 10 minutes of running. */
export const KUBERNETES_BACKOFF: BackoffPolicy = { baseMs: 10_000, capMs: 300_000, resetAfterMs: 600_000 };

/** The longest exit message kept: a line of `state`, not a traceback. */
const MESSAGE_CHARS = 200;

/**
 * After a crash: how many crashes in a row it makes (`streak`, those since a run that lasted
 * `resetAfterMs`) and how long to wait before the restart.
 */
export function nextBackoff(streak: number, ranMs: number, policy: BackoffPolicy): { streak: number; delayMs: number } {
  const next = ranMs >= policy.resetAfterMs ? 1 : streak + 1;
  return { streak: next, delayMs: Math.min(policy.capMs, policy.baseMs * 2 ** (next - 1)) };
}

/** How a replica's previous run ended (Kubernetes: the container's `lastState.terminated`). */
export interface LastExit {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  signal: string | null;
  /** What it said last: its termination message, the last error it logged, or its last line on stderr. */
  message?: string;
  /** When it exited (ISO 8601). */
  at: string;
  /** How long that run lasted, when known. */
  ranMs?: number;
}

/** `12 s ago`, `3 min ago`, `2 h ago`. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  const min = Math.round(s / 60);
  return min < 120 ? `${min} min ago` : `${Math.round(min / 60)} h ago`;
}

/** `code 1 "ModuleNotFoundError: No module named 'x'" 12 s ago` (the message on one line, cut at 200 characters). */
export function describeExit(exit: LastExit, now: number): string {
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  const line = exit.message?.replace(/\s+/g, " ").trim();
  const message = line ? ` ${JSON.stringify(line.length > MESSAGE_CHARS ? `${line.slice(0, MESSAGE_CHARS - 1)}…` : line)}` : "";
  return `${how}${message} ${ago(now - Date.parse(exit.at))}`;
}

/** What the crash-loop rule needs to know of one replica. */
export interface RestartHistory {
  /** Waiting for its restart after a crash (Kubernetes: waiting with reason CrashLoopBackOff). */
  waiting: boolean;
  /** Restarts so far (Kubernetes: `restartCount`). */
  restarts: number;
  lastExit?: LastExit;
  /** When its current process started (unix ms), while it runs. */
  runningSinceMs?: number;
}

/**
 * Whether a replica is in a crash loop, and how `state` says so; undefined when it is not. It is
 * while it waits for its restart, and, once running again, as long as it has crashed at least
 * twice, its last run was shorter than the reset time and its current one is too: a replica that
 * is ready for 4 s between crashes does not make its service look Healthy.
 */
export function crashLoopReason(r: RestartHistory, now: number, policy: BackoffPolicy = KUBERNETES_BACKOFF): string | undefined {
  if (!r.lastExit) return undefined;
  const quick = (ms: number | undefined) => ms !== undefined && ms < policy.resetAfterMs;
  const looping = r.waiting || (r.restarts >= 2 && quick(r.lastExit.ranMs) && r.runningSinceMs !== undefined && quick(now - r.runningSinceMs));
  return looping ? `CrashLoopBackOff (restarts ${r.restarts}, last exit: ${describeExit(r.lastExit, now)})` : undefined;
}
