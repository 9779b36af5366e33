/**
 * Local mode's supervisor over real scoring replicas for the services of a small stack written
 * into a temporary project folder: Azurite holds their packages and models, as `npm start` does.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import pino from "pino";
import { parseStackConfig, unitsOf, type StackConfig } from "../../core/config";
import { SCORING_ENV } from "../../core/contracts/naming";
import { routerPayloadLimitBytes } from "../../core/decisions/payloadLimit";
import { routingSettings } from "../../core/contracts/routingSettings";
import type { ServiceStatus } from "../../core/decisions/serviceState";
import { startAzurite, type Azurite } from "../../local/azurite";
import { Supervisor, type SupervisorOptions } from "../../local/supervisor";
import { createBlobContainers, replicaEnv, uploadService } from "../../packaging/upload";
import { LocalDiscovery } from "../../router/inProcess";
import { tempDir } from "./tmp";

export interface Replicas {
  config: StackConfig;
  supervisor: Supervisor;
  discovery: LocalDiscovery;
  stateDir: string;
  /** The replicas' working directories that exist now. */
  workDirs(): string[];
  /** The service's log so far (for an assertion's message). */
  log(service: string): string;
  /** Polls `status(service)` every 50 ms until `done` holds (or `timeoutMs` passed); the last status. */
  until(service: string, done: (s: ServiceStatus) => boolean, timeoutMs?: number): Promise<ServiceStatus>;
  close(): Promise<void>;
}

/**
 * `services`: the stack's `aks-inference:services`, their folders relative to `repo` (which the
 * caller has filled). No replica starts until the test calls `supervisor.setReplicas`.
 */
export async function startReplicas(repo: string, services: unknown[], opts: Pick<SupervisorOptions, "backoff" | "replicaToken" | "startTimeoutMs"> = {}): Promise<Replicas> {
  const config = parseStackConfig({ "azure-native:location": "westeurope", "aks-inference:services": services }, "t");
  const stateDir = tempDir("replicas");
  let azurite: Azurite | undefined = await startAzurite(path.join(stateDir, "azurite"));
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await createBlobContainers(blob);
  const discovery = new LocalDiscovery();
  const env = new Map<string, Record<string, string>>();
  const routerLimitBytes = routerPayloadLimitBytes(config.router.payloadLimitMb);
  for (const svc of config.services) {
    for (const { unit, version } of unitsOf(svc)) {
      const e = replicaEnv(version, await uploadService(version, repo, blob), azurite.connectionString, routerLimitBytes);
      // Debian's Python has what the scripts import (the first python3 on PATH may not).
      if (version.entryScript?.endsWith(".py")) e[SCORING_ENV.python] = "/usr/bin/python3";
      env.set(unit, e);
      discovery.upsertService(routingSettings(svc, version, undefined, routerLimitBytes));
    }
  }
  const supervisor = new Supervisor({ discovery, env: (s) => env.get(s) ?? {}, repoRoot: repo, stateDir, log: pino({ level: "silent" }), ...opts });
  const workRoot = path.join(stateDir, "work");
  return {
    config,
    supervisor,
    discovery,
    stateDir,
    workDirs: () => {
      try {
        return readdirSync(workRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        return [];
      }
    },
    log: (service) => {
      try {
        return readFileSync(supervisor.logFile(service), "utf8");
      } catch {
        return "";
      }
    },
    async until(service, done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let s = supervisor.status(service);
      while (!done(s) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        s = supervisor.status(service);
      }
      return s;
    },
    async close() {
      await supervisor.stopAll();
      await azurite?.stop();
      azurite = undefined;
    },
  };
}
