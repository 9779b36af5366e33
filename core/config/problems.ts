/**
 * How a config problem reads: each names the key as the stack file spells it
 * (`aks-inference:services[0].cpuCores`) and what is allowed. Schema issues (zod) and the
 * cross-field rules (rules.ts) are phrased the same way.
 */
import type { z } from "zod";
import { CONFIG_NAMESPACE, LOCATION_KEY } from "./schema";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reports a problem of the value at `path` (below the namespace: `["services", 0, "cpuCores"]`). */
export type Problem = (path: PropertyKey[], message: string) => void;

/** `services[0].cpuCores` → `aks-inference:services[0].cpuCores`. */
export function keyOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return CONFIG_NAMESPACE;
  if (path[0] === "location") return LOCATION_KEY;
  let key = `${CONFIG_NAMESPACE}:${String(path[0])}`;
  for (const p of path.slice(1)) key += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return key;
}

/** A schema issue as problems: one per unknown key, the allowed values of an enumeration, else zod's message. */
export function reportIssue(issue: z.core.$ZodIssue, problem: Problem): void {
  if (issue.code === "unrecognized_keys") {
    for (const k of issue.keys) problem([...issue.path, k], "unknown key (check its spelling against the config reference)");
  } else if (issue.code === "invalid_value") {
    problem(issue.path, `must be one of ${issue.values.map((v) => `'${String(v)}'`).join(", ")}`);
  } else {
    problem(issue.path, issue.message);
  }
}
