/** Waiting on something that settles in its own time: a socket closed, a gauge updated, an alert firing. */
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` every `everyMs` until it holds or `ms` passes; returns whether it held (checked once more at the end). */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, everyMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}
