/**
 * Local mode's control API (loopback only, bearer token from the state file): what the CLI's
 * local backend calls for state, logs, keys, key regeneration and tokens — the operations the
 * Azure ML v1 SDK offered.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { hostAllowed } from "../core/decisions/adminHost";
import { generateKey, mintToken, type MintedToken } from "../core/decisions/auth";
import { readKeyFile, writeKeyFile } from "../core/contracts/keyFile";
import { unitsOf, type ModelServiceConfig } from "../core/config";
import { KEY_FIELDS, type KeyName } from "../core/contracts/naming";
import { combineVersions, type ServiceStatus, type VersionStatus } from "../core/decisions/serviceState";
import { parseTrafficArgs, sharesOf, type TrafficSplit } from "../core/decisions/versions";
import type { LocalDiscovery } from "../router/inProcess";
import type { Supervisor } from "./supervisor";

export interface AdminDeps {
  token: string;
  services: Map<string, ModelServiceConfig>;
  supervisor: Supervisor;
  /** The router's discovery: each version's current settings, where `traffic` changes the split. */
  discovery: LocalDiscovery;
  routerUrl: string;
  keyFile: (service: string) => string;
  signingKey?: string;
  tokenTtlSeconds: number;
}

export interface ServiceDescription extends ServiceStatus {
  authMode: string;
  scoringUri: string;
  swaggerUri: string;
  /** A service with versions: each version's state, replicas and current shares. */
  versions?: VersionStatus[];
}

/** A small JSON request body (at most 64 KiB). */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      bytes += c.length;
      if (bytes > 64 * 1024) req.destroy(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        reject(err);
      }
    });
    req.on("error", reject);
  });
}

export async function startAdmin(deps: AdminDeps): Promise<{ url: string; close(): Promise<void> }> {
  const expected = Buffer.from(`Bearer ${deps.token}`);
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
    res.end(text);
  };
  /** Each version's unit and its current routing settings (changed by `traffic`). */
  const versionSettings = (svc: ModelServiceConfig) =>
    unitsOf(svc).map(({ unit, version }) => ({ unit, version: version.version, settings: deps.discovery.services().get(unit)?.settings }));
  const status = (svc: ModelServiceConfig): ServiceStatus =>
    svc.versions
      ? combineVersions(
          svc.name,
          versionSettings(svc).map(({ unit, version, settings }) => ({ ...deps.supervisor.status(unit), name: svc.name, version, traffic: settings?.version?.traffic ?? 0, mirrorPercent: settings?.version?.mirrorPercent ?? 0 })),
        )
      : deps.supervisor.status(svc.name);
  const describe = (svc: ModelServiceConfig): ServiceDescription => ({
    ...status(svc),
    authMode: svc.authMode,
    scoringUri: `${deps.routerUrl}/api/v1/service/${svc.name}/score`,
    swaggerUri: `${deps.routerUrl}/api/v1/service/${svc.name}/swagger.json`,
  });

  const server = http.createServer((req, res) => {
    // Like the router's admin port: only requests addressed to loopback, where it listens (no DNS rebinding).
    if (!hostAllowed(req.headers.host, [])) return send(res, 421, { error: "local mode's admin API answers only to localhost, 127.0.0.1 or [::1] in Host" });
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return send(res, 401, { error: "admin token required" });
    const url = new URL(req.url ?? "/", "http://local");
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "services") return send(res, 404, { error: `no route ${url.pathname}` });
    if (parts.length === 1) return send(res, 200, [...deps.services.values()].map(describe));
    const svc = deps.services.get(parts[1]);
    if (!svc) return send(res, 404, { error: `service '${parts[1]}' does not exist; services: ${[...deps.services.keys()].join(", ")}` });
    const action = parts[2] ?? "";
    if (action === "" && req.method === "GET") return send(res, 200, describe(svc));
    if (action === "logs" && req.method === "GET") {
      const tail = Math.max(1, Number(url.searchParams.get("tail") ?? "200"));
      const last = (unit: string) => {
        let text = "";
        try {
          text = readFileSync(deps.supervisor.logFile(unit), "utf8");
        } catch {
          text = "";
        }
        return text.split("\n").filter(Boolean).slice(-tail);
      };
      // A service with versions: each version's last lines under its name, as the cluster's logs come per pod.
      const parts = svc.versions ? unitsOf(svc).map(({ unit, version }) => [`==> version ${version.version} <==`, ...last(unit)]) : [last(svc.name)];
      return send(res, 200, `${parts.flat().join("\n")}\n`);
    }
    if (action === "keys" && req.method === "GET") {
      if (svc.authMode !== "key") return send(res, 400, { error: `service '${svc.name}' uses ${svc.authMode} auth, not keys` });
      const keys = readKeyFile(deps.keyFile(svc.name));
      return keys ? send(res, 200, keys) : send(res, 500, { error: `the key file of '${svc.name}' is damaged` });
    }
    if (action === "regen-key" && req.method === "POST") {
      const which = url.searchParams.get("key") as KeyName | null;
      if (which !== "primary" && which !== "secondary") return send(res, 400, { error: "key must be 'primary' or 'secondary'" });
      if (svc.authMode !== "key") return send(res, 400, { error: `service '${svc.name}' uses ${svc.authMode} auth, not keys` });
      const keys = readKeyFile(deps.keyFile(svc.name));
      if (!keys) return send(res, 500, { error: `the key file of '${svc.name}' is damaged` });
      const next = { ...keys, [KEY_FIELDS[which]]: generateKey() };
      writeKeyFile(deps.keyFile(svc.name), next);
      return send(res, 200, next);
    }
    if (action === "traffic" && req.method === "POST") {
      if (!svc.versions) return send(res, 400, { error: `service '${svc.name}' has no versions: its one version takes all traffic` });
      const known = svc.versions.map((v) => v.version);
      readJson(req)
        .then((body) => {
          const { shares, mirror } = body as { shares?: unknown; mirror?: unknown };
          if (!Array.isArray(shares) || !shares.every((x) => typeof x === "string") || (mirror !== undefined && typeof mirror !== "string")) {
            return send(res, 400, { error: 'expected {"shares": ["<version>=<percent>", ...], "mirror"?: "<version>=<percent>"}' });
          }
          let split: TrafficSplit;
          try {
            split = parseTrafficArgs(svc.name, known, shares, mirror);
          } catch (err) {
            return send(res, 400, { error: (err as Error).message });
          }
          // Each version's own settings carry its shares, as the annotations do on a cluster.
          for (const { settings, version } of versionSettings(svc)) if (settings) deps.discovery.upsertService({ ...settings, version: { name: version, ...sharesOf(split, version) } });
          send(res, 200, split);
        })
        .catch(() => send(res, 400, { error: "the body is not JSON" }));
      return;
    }
    if (action === "token" && req.method === "POST") {
      if (svc.authMode !== "token") return send(res, 400, { error: `service '${svc.name}' uses ${svc.authMode} auth; tokens are for token-auth services` });
      if (!deps.signingKey) return send(res, 500, { error: "no token signing key" });
      mintToken({ signingKey: deps.signingKey, audience: svc.name, ttlSeconds: deps.tokenTtlSeconds, subject: "local-cli" }).then(
        (t: MintedToken) => send(res, 200, t),
        (err: Error) => send(res, 500, { error: err.message }),
      );
      return;
    }
    send(res, 405, { error: `${req.method} ${url.pathname} is not supported` });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
