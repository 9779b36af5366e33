/** The `aks-inference` command as a user runs it (from the cached bundle, cli/bin.js), answers captured. */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./stacks";

export const CLI_BIN = path.join(REPO_ROOT, "cli", "bin.js");

export interface CliAnswer {
  /** The exit code (0 on success). */
  code: number;
  json: Record<string, unknown>;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `aks-inference <args>`, with `env` as the whole environment when given (so a test decides
 * whether KUBECONFIG is set, whatever the machine running it has).
 */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI_BIN, ...args], { cwd: REPO_ROOT, env: opts.env ?? process.env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The environment of the test process without KUBECONFIG: which backend a command uses is then up to its options. */
export function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

/** A function running `aks-inference --kubeconfig <kubeconfig()> --json <args>`, the answer parsed. */
export function clusterCli(kubeconfig: () => string): (...args: string[]) => Promise<CliAnswer> {
  return async (...args) => {
    const { code, stdout } = await runCli(["--kubeconfig", kubeconfig(), "--json", ...args]);
    return { code, json: JSON.parse(stdout) as Record<string, unknown> };
  };
}
