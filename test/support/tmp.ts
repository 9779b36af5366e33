/**
 * Temporary folders for tests, removed when the run ends (a mocha root hook plugin, loaded by
 * .mocharc.json), so repeated runs on a developer's machine or a CI runner leave nothing behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `aksinf-${prefix}-`));
  made.push(dir);
  return dir;
}

export const mochaHooks = {
  afterAll(): void {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  },
};
