/**
 * A service's key file (local mode, or a router given ROUTER_KEYS_DIR): `{"primaryKey", "secondaryKey"}`,
 * written atomically so a reader never sees half of it. The router's file key store and local
 * mode's admin API read and write it with these.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ServiceKeys } from "../decisions/auth";
import { KEY_FIELDS } from "./naming";

/** The keys in `file`; undefined when it does not hold both as strings. Throws when it cannot be read. */
export function readKeyFile(file: string): ServiceKeys | undefined {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const primaryKey = parsed[KEY_FIELDS.primary];
  const secondaryKey = parsed[KEY_FIELDS.secondary];
  return typeof primaryKey === "string" && typeof secondaryKey === "string" ? { primaryKey, secondaryKey } : undefined;
}

/** Writes atomically (rename), so the router never reads half a file. */
export function writeKeyFile(file: string, keys: ServiceKeys): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ [KEY_FIELDS.primary]: keys.primaryKey, [KEY_FIELDS.secondary]: keys.secondaryKey }), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
