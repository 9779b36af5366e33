/**
 * Temporary folders for tests, so repeated runs on a developer's machine or a CI runner leave
 * nothing behind (loaded by .mocharc.json).
 *
 * Run by the mocha CLI, every folder is made inside one folder for the run, which the global
 * teardown removes once all test files have ended. Removing a test's folders when its file ends
 * made the removal part of that file's time: the consumer test's installed package took 1 s to
 * delete alone but 17 s beside three other workers, and over the 30 s hook timeout on a CI runner.
 * The run folder carries the mocha process's pid, so the next run removes the folders of a run
 * that was killed before its teardown.
 *
 * Where no global setup runs (Stryker's mocha runner honours root hooks only), each folder is
 * made on its own and removed by the root hook when its file's tests end.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

/** Set by the global setup, and inherited by mocha's parallel workers and any child process. */
const RUN_FOLDER_VARIABLE = "AKSINF_TEST_RUN_DIR";
const RUN_FOLDER_PREFIX = "aksinf-run-";

const madeOutsideRun: string[] = [];

export function tempDir(prefix: string): string {
  const runFolder = process.env[RUN_FOLDER_VARIABLE];
  if (runFolder) return mkdtempSync(path.join(runFolder, `${prefix}-`));
  const dir = mkdtempSync(path.join(os.tmpdir(), `aksinf-${prefix}-`));
  madeOutsideRun.push(dir);
  return dir;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by another user
  }
}

/** The run folders in `parent` whose mocha process has ended: runs killed before their teardown. */
export function abandonedRunFolders(parent: string, running: (pid: number) => boolean = isRunning): string[] {
  return readdirSync(parent)
    .map((name) => ({ name, pid: name.startsWith(RUN_FOLDER_PREFIX) ? parseInt(name.slice(RUN_FOLDER_PREFIX.length), 10) : NaN }))
    .filter(({ pid }) => Number.isInteger(pid) && pid > 0 && !running(pid))
    .map(({ name }) => path.join(parent, name));
}

async function remove(dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 3 })));
}

/** Mocha global fixtures: run once by the mocha CLI process, before and after all test files. */
export async function mochaGlobalSetup(): Promise<void> {
  await remove(abandonedRunFolders(os.tmpdir()));
  process.env[RUN_FOLDER_VARIABLE] = mkdtempSync(path.join(os.tmpdir(), `${RUN_FOLDER_PREFIX}${process.pid}-`));
}

export async function mochaGlobalTeardown(): Promise<void> {
  const runFolder = process.env[RUN_FOLDER_VARIABLE];
  delete process.env[RUN_FOLDER_VARIABLE];
  if (runFolder) await remove([runFolder]);
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    // Deleting an installed package on a busy disk is slow, and is no part of what a test asserts.
    this.timeout(0);
    await remove(madeOutsideRun.splice(0));
  },
};
