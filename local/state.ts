/** Where local mode keeps its state, and the file through which the CLI finds it. */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const DEFAULT_LOCAL_DIR = ".aks-inference/local";

export interface LocalState {
  pid: number;
  stack: string;
  routerUrl: string;
  /** The router's admin port (status page, /status.json, /metrics); absent in a state file from before it was recorded. */
  routerAdminUrl?: string;
  adminUrl: string;
  /** Bearer token of the admin API (the file is readable by its owner only). */
  adminToken: string;
  services: string[];
}

export function stateFile(dir: string): string {
  return path.join(dir, "state.json");
}

/** The folder of the replicas' logs. */
export function logDir(dir: string): string {
  return path.join(dir, "logs");
}

/** The log of one service version's replicas (written by local/supervisor.ts, read by the CLI's `logs`). */
export function logFile(dir: string, unit: string): string {
  return path.join(logDir(dir), `${unit}.log`);
}

/** The running local mode's state, or undefined when none is running. */
export function readLocalState(dir: string): LocalState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as LocalState;
  try {
    process.kill(state.pid, 0);
  } catch {
    return undefined; // left behind by a local mode that was killed
  }
  return state;
}
