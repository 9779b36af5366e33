/**
 * `logs`: what both backends take (tail, since, previous run, one replica), and local mode's side
 * of it. Local mode writes one file per service (per version) under `<local dir>/logs/`, every run
 * of every replica appended to it in arrival order; the CLI reads and follows those files itself,
 * as `tail -f` would, since the admin API answers one request with one body.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { CliError } from "./backends";

export interface LogQuery {
  /** Last lines per replica (per log file in local mode). */
  tail: number;
  /** Only lines from the last this many seconds. */
  sinceSeconds?: number;
  /** The replica's previous run (the container before its last restart). */
  previous?: boolean;
  /** One replica (pod name) instead of all. */
  replica?: string;
}

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 };

/** Seconds in a duration such as `30s`, `10m`, `2h` or `1h30m` (kubectl's `--since` form). */
export function parseDuration(text: string): number {
  const parts = /^(?:\d+(?:\.\d+)?[hms])+$/.test(text) ? [...text.matchAll(/(\d+(?:\.\d+)?)([hms])/g)] : [];
  const seconds = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_SECONDS[unit], 0);
  if (!(seconds > 0)) throw new CliError(`--since must be a duration such as 30s, 10m, 2h or 1h30m (got '${text}')`);
  return Math.ceil(seconds);
}

/** A log line's own time: pino's `time` (epoch ms) on the JSON lines of the scoring server and local mode. */
function timeOf(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const time = (JSON.parse(line) as { time?: unknown }).time;
    return typeof time === "number" ? time : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lines written at or after `cutoffMs`. A line without a time of its own (a Python print) was
 * written no later than the next timed line, the file being in arrival order: it is kept when that
 * line is, and so is one with no timed line after it. Better a few old lines than a lost new one.
 */
export function linesSince(lines: readonly string[], cutoffMs: number): string[] {
  const kept: string[] = [];
  let upper = Infinity;
  for (let i = lines.length - 1; i >= 0; i--) {
    upper = timeOf(lines[i]) ?? upper;
    if (upper >= cutoffMs) kept.push(lines[i]);
  }
  return kept.reverse();
}

/** The lines of a local log file a query asks for, and the file's size they were read up to. */
export function readLocalLog(file: string, q: LogQuery, now = Date.now()): { lines: string[]; size: number } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return { lines: [], size: 0 }; // a service that has not written anything yet
  }
  // Up to the last newline: a line still being written is printed whole by the follow that reads on.
  const end = buf.lastIndexOf(0x0a) + 1;
  let lines = buf.subarray(0, end).toString("utf8").split("\n").filter(Boolean);
  if (q.sinceSeconds !== undefined) lines = linesSince(lines, now - q.sinceSeconds * 1000);
  return { lines: lines.slice(-q.tail), size: end };
}

/**
 * Calls `onLine` with each line appended to `file` after byte `from`, until `alive()` says the
 * writer is gone (after a last read). Polls: a follow of a few files needs no file watcher, and a
 * poll also sees a file that is recreated (size below the offset: read from its start).
 */
export async function followFile(file: string, from: number, onLine: (line: string) => void, alive: () => boolean, pollMs = 200): Promise<void> {
  let offset = from;
  let partial = "";
  const decoder = new StringDecoder("utf8");
  for (;;) {
    const running = alive();
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size < offset) offset = 0;
    if (size > offset) {
      const buf = Buffer.alloc(size - offset);
      const fd = openSync(file, "r");
      try {
        readSync(fd, buf, 0, buf.length, offset);
      } finally {
        closeSync(fd);
      }
      offset = size;
      const parts = (partial + decoder.write(buf)).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) if (line) onLine(line);
    }
    if (!running) {
      if (partial) onLine(partial);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
