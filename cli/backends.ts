/**
 * Where the CLI's operations go: a running local mode (its admin API, here) or a cluster (the
 * Kubernetes API through a kubeconfig, cli/kubernetes.ts). Both answer in the same shapes.
 */
import type { MintedToken, ServiceKeys } from "../core/auth";
import type { KeyName } from "../core/naming";
import type { TrafficSplit } from "../core/versions";
import type { ServiceDescription } from "../local/admin";
import type { LocalState } from "../local/state";
import { httpRequest, type HttpAnswer } from "./http";

export class CliError extends Error {}

export interface Backend {
  describe(service: string): Promise<ServiceDescription>;
  logs(service: string, tail: number): Promise<string>;
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
  constructor(private readonly state: LocalState) {}

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
  async logs(service: string, tail: number): Promise<string> {
    return this.call(`/services/${encodeURIComponent(service)}/logs?tail=${tail}`);
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
