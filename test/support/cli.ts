/** The `aks-inference` command as a user runs it against a cluster: `--kubeconfig <file> --json`, answers parsed. */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./stacks";

export interface CliAnswer {
  /** The exit code (0 on success). */
  code: number;
  json: Record<string, unknown>;
}

/** A function running `aks-inference --kubeconfig <kubeconfig()> --json <args>` from the cached bundle. */
export function clusterCli(kubeconfig: () => string): (...args: string[]) => Promise<CliAnswer> {
  const run = promisify(execFile);
  return async (...args) => {
    try {
      const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, "cli/bin.js"), "--kubeconfig", kubeconfig(), "--json", ...args], { cwd: REPO_ROOT });
      return { code: 0, json: JSON.parse(stdout) as Record<string, unknown> };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { code: e.code, json: JSON.parse(e.stdout) as Record<string, unknown> };
    }
  };
}
