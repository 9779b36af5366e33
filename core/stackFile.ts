/**
 * Reads a `Pulumi.<stack>.yaml` from disk into the raw key/value map `parseStackConfig` takes.
 * Used where no Pulumi engine is running: the offline plan, local mode, the CLI and stamping.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { parseStackConfig, type StackConfig } from "./config";

/** Placeholder for `secure:` values, which cannot be decrypted without the Pulumi engine. */
export const SECRET_PLACEHOLDER = "[secret]";

export function stackFilePath(stack: string, dir = process.cwd()): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Raw config of a stack file's text; encrypted values become `SECRET_PLACEHOLDER`. */
export function readStackFileText(text: string): Record<string, unknown> {
  const doc: unknown = parse(text) ?? {};
  const config = (doc as { config?: Record<string, unknown> }).config ?? {};
  return replaceSecure(config) as Record<string, unknown>;
}

export function readStackFile(file: string): Record<string, unknown> {
  return readStackFileText(readFileSync(file, "utf8"));
}

function replaceSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(replaceSecure);
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0][0] === "secure") return SECRET_PLACEHOLDER;
    return Object.fromEntries(entries.map(([k, v]) => [k, replaceSecure(v)]));
  }
  return value;
}

/** Reads and validates `Pulumi.<stack>.yaml` in `dir`. */
export function loadStack(stack: string, dir = process.cwd()): StackConfig {
  return parseStackConfig(readStackFile(stackFilePath(stack, dir)), stack);
}
