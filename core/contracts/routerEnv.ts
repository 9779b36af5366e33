/**
 * The router's settings as its container environment carries them: read here, once, by the
 * router program, and tested against what the stack renders into the router Deployment (a value
 * the stack accepts must be one the router starts with: a 7.5 ms self-scaling threshold once
 * passed config validation and then stopped the router, whose reader wanted an integer).
 */
import { ROUTER_ENV, ROUTER_PORTS } from "./naming";
import { MAX_PAYLOAD_BYTES } from "../decisions/payloadLimit";
import { DEFAULT_SELF_SCALE_LIMITS } from "../decisions/selfScale";

export interface RouterEnvSettings {
  port: number;
  adminPort: number;
  maxBodyBytes: number;
  /** Absent: the router's default (the OS temp folder, and 2 GiB). */
  spoolDir?: string;
  spoolBytes?: number;
  maxConnections?: number;
  trustForwardedFor: boolean;
  maxTokenLifetimeSeconds?: number;
  selfScaling: boolean;
  selfScalingLatencyMs: number;
}

type Key = keyof typeof ROUTER_ENV;

/** Reads the router's numeric and boolean settings; an error names the variable and what it must be. */
export function readRouterEnv(env: Record<string, string | undefined>): RouterEnvSettings {
  const raw = (key: Key) => env[ROUTER_ENV[key]] || undefined;
  const num = (key: Key, opts: { integer: boolean }): number | undefined => {
    const v = raw(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (opts.integer && !Number.isInteger(n))) {
      throw new Error(`${ROUTER_ENV[key]} must be a positive ${opts.integer ? "integer" : "number"} (got '${v}')`);
    }
    return n;
  };
  const bool = (key: Key): boolean => {
    const v = raw(key);
    if (v !== undefined && v !== "true" && v !== "false") throw new Error(`${ROUTER_ENV[key]} must be 'true' or 'false' (got '${v}')`);
    return v === "true";
  };
  return {
    port: num("port", { integer: true }) ?? ROUTER_PORTS.http,
    adminPort: num("adminPort", { integer: true }) ?? ROUTER_PORTS.admin,
    maxBodyBytes: num("maxBodyBytes", { integer: true }) ?? MAX_PAYLOAD_BYTES,
    spoolDir: raw("spoolDir"),
    spoolBytes: num("spoolBytes", { integer: true }),
    maxConnections: num("maxConnections", { integer: true }),
    trustForwardedFor: bool("trustForwardedFor"),
    maxTokenLifetimeSeconds: num("tokenMaxLifetimeSeconds", { integer: true }),
    selfScaling: bool("selfScaling"),
    selfScalingLatencyMs: num("selfScalingLatencyMs", { integer: false }) ?? DEFAULT_SELF_SCALE_LIMITS.latencyThresholdMs,
  };
}
