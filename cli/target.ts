/**
 * Which backend a command talks to, and why (the why is printed with every error, so a user who
 * expected the other one sees it at once). The rule:
 *
 * 1. `--kubeconfig <file>` or `--context <name>`: the cluster. Asked for by name.
 * 2. A local mode running in `--local-dir`: local mode. `npm start` in this checkout is a
 *    deliberate act of this session; KUBECONFIG is often set shell-wide for other work, and a
 *    developer running `aks-inference keys regressor` next to `npm start` means local mode.
 * 3. `KUBECONFIG` set: the cluster of its current context, as kubectl.
 * 4. Otherwise an error saying how to get either. `~/.kube/config` alone is not used: a command
 *    such as `regen-key` must not land on whatever cluster was last selected there because local
 *    mode happened to be stopped; `--context` (or KUBECONFIG) says it is meant.
 */
import * as os from "node:os";
import * as path from "node:path";
import type { LocalState } from "../local/state";
import { CliError } from "./backends";

/** How long an API request may take before the API server counts as unreachable (`--request-timeout`). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

export type Target =
  | { kind: "local"; state: LocalState; why: string }
  | {
      kind: "cluster";
      /** Kubeconfig files, merged in order (the first to define a name wins, as kubectl). */
      files: string[];
      /** Where they came from, for messages: `--kubeconfig x`, `KUBECONFIG=...`, `~/.kube/config`. */
      source: string;
      context?: string;
      why: string;
    };

export interface TargetOptions {
  kubeconfig?: string;
  context?: string;
  localDir: string;
}

/** The backend for these options, environment and running local mode (undefined: none runs). */
export function chooseTarget(o: TargetOptions, env: NodeJS.ProcessEnv, local: LocalState | undefined): Target {
  const fromEnv = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  const defaults = () =>
    fromEnv.length > 0 ? { files: fromEnv, source: `KUBECONFIG=${env.KUBECONFIG}` } : { files: [path.join(os.homedir(), ".kube", "config")], source: "~/.kube/config" };
  if (o.kubeconfig) return { kind: "cluster", files: [o.kubeconfig], source: `--kubeconfig ${o.kubeconfig}`, context: o.context, why: "--kubeconfig given" };
  if (o.context) return { kind: "cluster", ...defaults(), context: o.context, why: "--context given" };
  if (local) {
    const also = fromEnv.length > 0 ? "; KUBECONFIG is set, but a running local mode comes first: pass --context or --kubeconfig for the cluster" : "";
    return { kind: "local", state: local, why: `a local mode is running in ${o.localDir}${also}` };
  }
  if (fromEnv.length > 0) return { kind: "cluster", ...defaults(), why: `KUBECONFIG is set and no local mode is running in ${o.localDir}` };
  throw new CliError(
    `no local mode is running (no ${path.join(o.localDir, "state.json")}) and no cluster is chosen: start local mode with \`npm start\`, or pass --kubeconfig <file> or --context <name> (or set KUBECONFIG) for a cluster`,
  );
}
