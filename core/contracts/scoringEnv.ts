/**
 * A scoring replica's settings as its environment carries them: written here (the stack's model
 * Deployment, local mode and the image check all render them with `scoringEnv`) and read here
 * (scoring/main.ts, with `readScoringEnv`), and tested against each other: with a writer and
 * readers tested apart, a reader of `gpuFallbackToCpu` that took any value for "true" would have
 * run every GPU service on its CPU while the stack wrote "false".
 */
import * as path from "node:path";
import type { ModelVersionConfig } from "../config";
import type { GpuRequest } from "../decisions/gpu";
import { DEFAULT_SCORING_TIMEOUT_MS, SCORING_ENV, SCORING_PORT, type ModelBlobs } from "./naming";
import { MAX_PAYLOAD_BYTES, versionPayloadLimitBytes } from "../decisions/payloadLimit";

/** What a replica runs with. */
export interface ScoringEnvSettings {
  service: string;
  replicaId: string;
  host: string;
  port: number;
  /** A connection string (local mode, Azurite), or the account URL reached with the pod's workload identity. */
  storage: { connectionString?: string; accountUrl?: string };
  workDir: string;
  /** "" when the service has no project folder. */
  packageBlob: string;
  models: ModelBlobs[];
  /** "" for the built-in ONNX handler. */
  entryScript: string;
  collectModelData: boolean;
  /** A Python entry script's interpreter. */
  python: string;
  /** Scoring requests the replica runs at once (busy answer beyond), and a Python service's worker count. */
  maxConcurrentRequests: number;
  scoringTimeoutMs: number;
  /** The service's body limit in bytes: the replica's own guard and its OpenAPI document's 413. */
  maxBodyBytes: number;
  gpu: GpuRequest;
  terminationLog: string;
  /** Local mode only. */
  replicaToken?: string;
  /** A service with `appInsightsEnabled`: its Application Insights connection string. Secret. */
  appInsightsConnectionString?: string;
}

type Key = keyof typeof SCORING_ENV;

/** Each setting as its variable carries it; what is left out is not rendered (the replica's default, or another part's). */
export function scoringEnv(s: Partial<ScoringEnvSettings>): Record<string, string> {
  const parts: [Key, string | number | boolean | undefined][] = [
    ["service", s.service],
    ["replicaId", s.replicaId],
    ["host", s.host],
    ["port", s.port],
    ["storageConnectionString", s.storage?.connectionString],
    ["storageAccountUrl", s.storage?.accountUrl],
    ["workDir", s.workDir],
    ["packageBlob", s.packageBlob],
    ["modelBlobs", s.models && JSON.stringify(s.models)],
    ["entryScript", s.entryScript],
    ["collectModelData", s.collectModelData],
    ["python", s.python],
    ["maxConcurrentRequests", s.maxConcurrentRequests],
    ["scoringTimeoutMs", s.scoringTimeoutMs],
    ["maxBodyBytes", s.maxBodyBytes],
    ["gpuCores", s.gpu?.gpuCores],
    ["gpuFallbackToCpu", s.gpu?.fallbackToCpu],
    ["gpuPool", s.gpu && (s.gpu.pool ?? "")],
    ["terminationLog", s.terminationLog],
    ["replicaToken", s.replicaToken],
    ["appInsightsConnectionString", s.appInsightsConnectionString],
  ];
  return Object.fromEntries(parts.filter(([, v]) => v !== undefined).map(([k, v]) => [SCORING_ENV[k], String(v)]));
}

/** The parts of a service version its replicas' environment carries. */
export type ServiceEnvSource = Pick<ModelVersionConfig, "name" | "entryScript" | "collectModelData" | "replicaMaxConcurrentRequests" | "scoringTimeoutMs" | "memoryGb">;

/**
 * What every replica of a service version gets wherever it runs: what to download and how to
 * serve it. `routerLimitBytes`: the stack's router body limit; the service's own limit follows
 * from it as in the service's routing settings (core/contracts/routingSettings.ts), so the replica guards
 * the limit the router announces. Storage, port, replica id and work folder are the place's own.
 */
export function serviceScoringEnv(v: ServiceEnvSource, blobs: { packageBlob: string; models: ModelBlobs[] }, routerLimitBytes: number): Record<string, string> {
  return scoringEnv({
    service: v.name,
    packageBlob: blobs.packageBlob,
    models: blobs.models,
    entryScript: v.entryScript ?? "",
    collectModelData: v.collectModelData,
    maxConcurrentRequests: v.replicaMaxConcurrentRequests,
    scoringTimeoutMs: v.scoringTimeoutMs,
    maxBodyBytes: versionPayloadLimitBytes(v, routerLimitBytes),
  });
}

/** What the replica's machine supplies for settings its environment leaves out. */
export interface ReplicaMachine {
  hostname: string;
  tmpDir: string;
}

/** Reads a replica's settings; an error names the variable and what it must be. An empty variable counts as unset. */
export function readScoringEnv(env: Record<string, string | undefined>, machine: ReplicaMachine): ScoringEnvSettings {
  const raw = (key: Key) => env[SCORING_ENV[key]] || undefined;
  const int = (key: Key, min: 0 | 1, fallback: number): number => {
    const v = raw(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${SCORING_ENV[key]} must be a ${min === 0 ? "whole number" : "positive integer"} (got '${v}')`);
    return n;
  };
  // Exactly the two words the writer renders: anything else is a mistake to refuse, not a "false".
  const bool = (key: Key): boolean => {
    const v = raw(key);
    if (v !== undefined && v !== "true" && v !== "false") throw new Error(`${SCORING_ENV[key]} must be 'true' or 'false' (got '${v}')`);
    return v === "true";
  };
  const service = raw("service");
  if (service === undefined) throw new Error(`${SCORING_ENV.service} is not set`);
  const replicaId = raw("replicaId") ?? machine.hostname;
  return {
    service,
    replicaId,
    host: raw("host") ?? "0.0.0.0",
    port: int("port", 1, SCORING_PORT),
    storage: { connectionString: raw("storageConnectionString"), accountUrl: raw("storageAccountUrl") },
    workDir: raw("workDir") ?? path.join(machine.tmpDir, `aks-inference-${service}-${replicaId}`),
    packageBlob: raw("packageBlob") ?? "",
    models: modelBlobs(raw("modelBlobs")),
    entryScript: raw("entryScript") ?? "",
    collectModelData: bool("collectModelData"),
    python: raw("python") ?? "python3",
    maxConcurrentRequests: int("maxConcurrentRequests", 1, 1),
    scoringTimeoutMs: int("scoringTimeoutMs", 1, DEFAULT_SCORING_TIMEOUT_MS),
    maxBodyBytes: int("maxBodyBytes", 1, MAX_PAYLOAD_BYTES),
    gpu: { gpuCores: int("gpuCores", 0, 0), fallbackToCpu: bool("gpuFallbackToCpu"), pool: raw("gpuPool") },
    terminationLog: raw("terminationLog") ?? "/dev/termination-log",
    replicaToken: raw("replicaToken"),
    appInsightsConnectionString: raw("appInsightsConnectionString"),
  };
}

function modelBlobs(text: string | undefined): ModelBlobs[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? "[]");
  } catch {
    throw new Error(`${SCORING_ENV.modelBlobs} is not valid JSON`);
  }
  const isBlob = (m: unknown): boolean => {
    const b = m as Partial<ModelBlobs> | null;
    return typeof b === "object" && b !== null && typeof b.name === "string" && Number.isInteger(b.version) && typeof b.prefix === "string";
  };
  if (!Array.isArray(parsed) || !parsed.every(isBlob)) throw new Error(`${SCORING_ENV.modelBlobs} must be a JSON list of { name, version, prefix }`);
  return parsed as ModelBlobs[];
}
