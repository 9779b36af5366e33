/**
 * Where the CLI's operations go: a running local mode (its admin API, here) or a cluster (the
 * Kubernetes API through a kubeconfig, cli/kubernetes.ts). Both answer in the same shapes.
 */
import type { MintedToken, ServiceKeys } from "../core/decisions/auth";
import type { KeyName } from "../core/contracts/naming";
import { unitOf, type TrafficSplit } from "../core/decisions/versions";
import type { ServiceDescription } from "../local/admin";
import { logFile, readLocalState, type LocalState } from "../local/state";
import { httpRequest, type HttpAnswer } from "./http";
import { followFile, readLocalLog, type LogQuery } from "./logs";

export class CliError extends Error {}

/** Called with each log line and where it came from (a pod, or in local mode a service or version). */
export type LogSink = (source: string, line: string) => void;

export interface Backend {
  /** What the commands talk to, for messages: `local mode (pid 123, ...)`, `cluster https://... (context ...)`. */
  readonly label: string;
  describe(service: string): Promise<ServiceDescription>;
  /** Every model service, by name. */
  list(): Promise<ServiceDescription[]>;
  /** The replicas' log lines, one block per replica (per version in local mode). */
  logs(service: string, q: LogQuery): Promise<string>;
  /** The same lines, then each new one as it is written, until the replicas (or local mode) stop. */
  follow(service: string, q: LogQuery, onLine: LogSink): Promise<void>;
  keys(service: string): Promise<ServiceKeys>;
  regenKey(service: string, key: KeyName): Promise<ServiceKeys>;
  token(service: string): Promise<MintedToken>;
  /** Changes a service's split between its versions (`<version>=<percent>` each) and its mirror. */
  traffic(service: string, shares: string[], mirror?: string): Promise<TrafficSplit>;
}

/** The message of an admin API's JSON error body (`{"error": "..."}`), if that is what it is. */
function errorOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

export class LocalBackend implements Backend {
  readonly label: string;

  /** `dir`: the local mode's state folder, where its log files are. */
  constructor(
    private readonly state: LocalState,
    private readonly dir: string,
  ) {
    this.label = `local mode (pid ${state.pid}, stack '${state.stack}', admin API ${state.adminUrl})`;
  }

  private async call(path: string, method = "GET", body?: unknown): Promise<string> {
    let res: HttpAnswer;
    try {
      const headers = { authorization: `Bearer ${this.state.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) };
      res = await httpRequest(`${this.state.adminUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new CliError(`local mode (pid ${this.state.pid}) does not answer at ${this.state.adminUrl}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new CliError(errorOf(res.text) ?? `local mode answered ${res.status}`);
    return res.text;
  }
  async describe(service: string): Promise<ServiceDescription> {
    return JSON.parse(await this.call(`/services/${encodeURIComponent(service)}`)) as ServiceDescription;
  }
  async list(): Promise<ServiceDescription[]> {
    return JSON.parse(await this.call("/services")) as ServiceDescription[];
  }

  /**
   * The service's log files: one per version (a service without versions: its own). The path is
   * local/state.ts `logFile`, which the supervisor writes, under the same state folder.
   */
  private async logFiles(service: string, q: LogQuery): Promise<{ source: string; file: string; version?: string }[]> {
    if (q.previous) throw new CliError("--previous is not available in local mode: it keeps one log per service, with every run of its replicas in it (`logs` without --previous shows the earlier runs' lines too)");
    if (q.replica) throw new CliError("--replica is not available in local mode: the replicas of a service write one log together (`logs` shows all of them)");
    const d = await this.describe(service);
    const file = (unit: string) => logFile(this.dir, unit);
    return d.versions ? d.versions.map((v) => ({ source: v.version, version: v.version, file: file(unitOf(service, v.version)) })) : [{ source: service, file: file(service) }];
  }

  async logs(service: string, q: LogQuery): Promise<string> {
    const files = await this.logFiles(service, q);
    // A service with versions: each version's lines under its name, as the cluster's come per pod.
    const blocks = files.map(({ file, version }) => [...(version !== undefined ? [`==> version ${version} <==`] : []), ...readLocalLog(file, q).lines]);
    return `${blocks.flat().join("\n")}\n`;
  }

  async follow(service: string, q: LogQuery, onLine: LogSink): Promise<void> {
    const files = await this.logFiles(service, q);
    // Until this local mode stops (its state file goes, or names another process).
    const alive = () => readLocalState(this.dir)?.pid === this.state.pid;
    await Promise.all(
      files.map(({ source, file }) => {
        const { lines, size } = readLocalLog(file, q);
        for (const line of lines) onLine(source, line);
        return followFile(file, size, (line) => onLine(source, line), alive);
      }),
    );
  }
  async keys(service: string): Promise<ServiceKeys> {
    return JSON.parse(await this.call(`/services/${encodeURIComponent(service)}/keys`)) as ServiceKeys;
  }
  async regenKey(service: string, key: KeyName): Promise<ServiceKeys> {
    return JSON.parse(await this.call(`/services/${encodeURIComponent(service)}/regen-key?key=${key}`, "POST")) as ServiceKeys;
  }
  async token(service: string): Promise<MintedToken> {
    return JSON.parse(await this.call(`/services/${encodeURIComponent(service)}/token`, "POST")) as MintedToken;
  }
  async traffic(service: string, shares: string[], mirror?: string): Promise<TrafficSplit> {
    return JSON.parse(await this.call(`/services/${encodeURIComponent(service)}/traffic`, "POST", { shares, mirror })) as TrafficSplit;
  }
}
