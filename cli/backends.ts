/**
 * Where the CLI's operations go: a running local mode (its admin API, here) or a cluster (the
 * Kubernetes API through a kubeconfig, cli/kubernetes.ts). Both answer in the same shapes.
 */
import type { MintedToken, ServiceKeys } from "../core/auth";
import type { KeyName } from "../core/naming";
import type { ServiceDescription } from "../local/admin";
import type { LocalState } from "../local/state";

export class CliError extends Error {}

export interface Backend {
  describe(service: string): Promise<ServiceDescription>;
  logs(service: string, tail: number): Promise<string>;
  keys(service: string): Promise<ServiceKeys>;
  regenKey(service: string, key: KeyName): Promise<ServiceKeys>;
  token(service: string): Promise<MintedToken>;
}

export class LocalBackend implements Backend {
  constructor(private readonly state: LocalState) {}

  private async call(path: string, method = "GET"): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.state.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${this.state.adminToken}` } });
    } catch (err) {
      throw new CliError(`local mode (pid ${this.state.pid}) does not answer at ${this.state.adminUrl}: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      throw new CliError(body.error ?? `local mode answered ${res.status}`);
    }
    return res;
  }
  async describe(service: string): Promise<ServiceDescription> {
    return (await (await this.call(`/services/${encodeURIComponent(service)}`)).json()) as ServiceDescription;
  }
  async logs(service: string, tail: number): Promise<string> {
    return (await this.call(`/services/${encodeURIComponent(service)}/logs?tail=${tail}`)).text();
  }
  async keys(service: string): Promise<ServiceKeys> {
    return (await (await this.call(`/services/${encodeURIComponent(service)}/keys`)).json()) as ServiceKeys;
  }
  async regenKey(service: string, key: KeyName): Promise<ServiceKeys> {
    return (await (await this.call(`/services/${encodeURIComponent(service)}/regen-key?key=${key}`, "POST")).json()) as ServiceKeys;
  }
  async token(service: string): Promise<MintedToken> {
    return (await (await this.call(`/services/${encodeURIComponent(service)}/token`, "POST")).json()) as MintedToken;
  }
}
