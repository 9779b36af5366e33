/**
 * Reads a `Pulumi.<stack>.yaml` from disk into the raw key/value map `parseStackConfig` takes.
 * Used where no Pulumi engine is running: the offline plan, local mode, the CLI and stamping.
 * `resolveStackFile` also handles the Pulumi ESC environments a stack file imports.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as ipaddr from "ipaddr.js";
import { isMap, isSeq, parse, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { CONFIG_NAMESPACE, ConfigError, LOCATION_KEY, parseStackConfig, type StackConfig } from ".";

/** Placeholder for `secure:` values, which cannot be decrypted without the Pulumi engine. */
export const SECRET_PLACEHOLDER = "[secret]";

export function stackFilePath(stack: string, dir = process.cwd()): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Raw config of a stack file's text; encrypted values become `SECRET_PLACEHOLDER`. */
export function readStackFileText(text: string): Record<string, unknown> {
  return parseStackFile(text).config;
}

export function readStackFile(file: string): Record<string, unknown> {
  return readStackFileText(readFileSync(file, "utf8"));
}

function replaceSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(replaceSecure);
  if (value && typeof value === "object") {
    if (isSecure(value)) return SECRET_PLACEHOLDER;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v)]));
  }
  return value;
}

/** Reads and validates `Pulumi.<stack>.yaml` in `dir`. */
export function loadStack(stack: string, dir = process.cwd()): StackConfig {
  const file = parseStackFile(readFileSync(stackFilePath(stack, dir), "utf8"));
  const plain = plainTextSecretProblems(file);
  if (plain.length > 0) throw new ConfigError(plain);
  return parseStackConfig(file.config, stack);
}

/**
 * A config key as users write it (`network.subnetId`, `aks-inference:gpuPools[0].vmSize`,
 * `azure-native:location`): the stack file's top-level key and the path inside its value.
 */
export interface ConfigKey {
  /** Top-level key of the stack file's `config:` map, namespace included. */
  top: string;
  /** Path inside that value: object keys and list indexes. */
  path: (string | number)[];
}

export function parseConfigKey(key: string): ConfigKey {
  const m = /^(?:([a-z][a-z0-9-]*):)?([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)$/.exec(key);
  if (!m) throw new Error(`'${key}' is not a config key such as network.subnetId or gpuPools[0].vmSize`);
  const path = [...m[3].matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((p) => (p[1] !== undefined ? p[1] : Number(p[2])));
  return { top: `${m[1] ?? CONFIG_NAMESPACE}:${m[2]}`, path };
}

export function formatConfigKey(k: ConfigKey): string {
  return k.top + k.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
}

/** The value at `k` in a raw config map, undefined when any step is missing. */
export function getConfigValue(config: Record<string, unknown>, k: ConfigKey): unknown {
  let value: unknown = config[k.top];
  for (const p of k.path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[p];
  }
  return value;
}

/** A copy of `config` with `value` at `k`, creating the objects on the way. */
export function withConfigValue(config: Record<string, unknown>, k: ConfigKey, value: unknown): Record<string, unknown> {
  const set = (node: unknown, path: (string | number)[]): unknown => {
    if (path.length === 0) return value;
    const [head, ...rest] = path;
    const copy: Record<string | number, unknown> | unknown[] = Array.isArray(node) ? [...node] : node && typeof node === "object" ? { ...(node as object) } : typeof head === "number" ? [] : {};
    (copy as Record<string | number, unknown>)[head] = set((copy as Record<string | number, unknown>)[head], rest);
    return copy;
  };
  return { ...config, [k.top]: set(config[k.top], k.path) };
}

/** A stack file as the offline tools see it: its config, the ESC environments it imports, its secrets. */
export interface StackFile {
  /** Raw config; `secure:` values are `SECRET_PLACEHOLDER`. */
  config: Record<string, unknown>;
  /**
   * Pulumi ESC environments the stack imports (`environment:` as a list of names, or as an inline
   * definition with `imports:`), in order. Their values reach the program only through the Pulumi
   * CLI, so offline they are unknown. An inline definition's own `values` count as `(inline)`.
   */
  environments: string[];
  /** Keys holding `secure:` values, e.g. `aks-inference:endpoint.tls.privateKey`. */
  secrets: string[];
}

export function parseStackFile(text: string): StackFile {
  const doc = (parse(text) ?? {}) as { config?: Record<string, unknown>; environment?: unknown };
  const raw = doc.config ?? {};
  const secrets: string[] = [];
  const findSecrets = (value: unknown, k: ConfigKey) => {
    if (isSecure(value)) secrets.push(formatConfigKey(k));
    else if (Array.isArray(value)) value.forEach((v, i) => findSecrets(v, { ...k, path: [...k.path, i] }));
    else if (value && typeof value === "object") for (const [key, v] of Object.entries(value)) findSecrets(v, { ...k, path: [...k.path, key] });
  };
  for (const [top, value] of Object.entries(raw)) findSecrets(value, { top, path: [] });
  return { config: replaceSecure(raw) as Record<string, unknown>, environments: escEnvironments(doc.environment), secrets };
}

function isSecure(value: unknown): boolean {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value) && Object.keys(value as object).length === 1 && "secure" in (value as object);
}

/** Names an `environment:` block imports: `[a, b]`, or `{ imports: [a, { b: {...} }], values: ... }`. */
function escEnvironments(block: unknown): string[] {
  if (block === undefined || block === null) return [];
  if (Array.isArray(block)) return block.map(String);
  if (typeof block !== "object") return [String(block)];
  const def = block as { imports?: unknown; values?: unknown };
  const imports = Array.isArray(def.imports) ? def.imports.map((i) => (i && typeof i === "object" ? Object.keys(i)[0] : String(i))) : [];
  return def.values !== undefined ? [...imports, "(inline)"] : imports;
}

/** Marks every value invented for a key an ESC environment is expected to provide. */
export const ESC_UNKNOWN = "esc-unknown";
const ZERO_SUB = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${ESC_UNKNOWN}/providers/Microsoft.Network`;
const escUrl = `https://${ESC_UNKNOWN}.invalid/`;

function customDomainStandIn(config: Record<string, unknown>): [string, unknown][] {
  const zone = getConfigValue(config, parseConfigKey("endpoint.dnsZone.zoneName"));
  return [[`${CONFIG_NAMESPACE}:endpoint.customDomain`, `${ESC_UNKNOWN}.${typeof zone === "string" ? zone : "example.com"}`]];
}

/**
 * Keys the config rules can require, with a stand-in that passes them: when a stack imports ESC
 * environments and one of these is absent from the file, the offline tools assume an environment
 * provides it. IPs are from TEST-NET-1 (RFC 5737); every other stand-in contains `ESC_UNKNOWN`.
 * `firewall.policyId` also stands for its alternative, `network.firewallSubnetId`.
 */
const ESC_STAND_INS: Record<string, (config: Record<string, unknown>) => [string, unknown][]> = {
  [LOCATION_KEY]: () => [[LOCATION_KEY, ESC_UNKNOWN]],
  [`${CONFIG_NAMESPACE}:network.subnetId`]: () => [[`${CONFIG_NAMESPACE}:network.subnetId`, `${ZERO_SUB}/virtualNetworks/${ESC_UNKNOWN}/subnets/${ESC_UNKNOWN}`]],
  [`${CONFIG_NAMESPACE}:network.routeTableId`]: () => [[`${CONFIG_NAMESPACE}:network.routeTableId`, `${ZERO_SUB}/routeTables/${ESC_UNKNOWN}`]],
  // Azure CNI's service range (TEST-NET-2, RFC 5737) and its DNS address inside the range the file gives, if it gives one.
  [`${CONFIG_NAMESPACE}:network.serviceCidr`]: () => [[`${CONFIG_NAMESPACE}:network.serviceCidr`, "198.51.100.0/24"]],
  [`${CONFIG_NAMESPACE}:network.dnsServiceIp`]: (config) => {
    const range = getConfigValue(config, parseConfigKey("network.serviceCidr"));
    const base = ipaddr.IPv4.parseCIDR(typeof range === "string" && ipaddr.IPv4.isValidCIDR(range) ? range : "198.51.100.0/24")[0].toByteArray();
    return [[`${CONFIG_NAMESPACE}:network.dnsServiceIp`, [base[0], base[1], base[2], base[3] + 10].join(".")]];
  },
  [`${CONFIG_NAMESPACE}:firewall.policyId`]: () => [[`${CONFIG_NAMESPACE}:firewall.policyId`, `${ZERO_SUB}/firewallPolicies/${ESC_UNKNOWN}`]],
  [`${CONFIG_NAMESPACE}:firewall.privateIp`]: () => [[`${CONFIG_NAMESPACE}:firewall.privateIp`, "192.0.2.4"]],
  [`${CONFIG_NAMESPACE}:firewall.publicIp`]: () => [[`${CONFIG_NAMESPACE}:firewall.publicIp`, "192.0.2.5"]],
  [`${CONFIG_NAMESPACE}:endpoint.customDomain`]: customDomainStandIn,
  // "endpoint.dnsZone: needs endpoint.customDomain": the domain is the missing one.
  [`${CONFIG_NAMESPACE}:endpoint.dnsZone`]: customDomainStandIn,
  [`${CONFIG_NAMESPACE}:endpoint.internalIp`]: (config) => {
    // kubenet: the address must lie in the node subnet the stack creates (Azure reserves the first four).
    const prefix = getConfigValue(config, parseConfigKey("network.nodeSubnetPrefix"));
    const base = ipaddr.IPv4.parseCIDR(typeof prefix === "string" ? prefix : "10.224.0.0/16")[0].toByteArray();
    const n = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) + 4;
    return [[`${CONFIG_NAMESPACE}:endpoint.internalIp`, [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")]];
  },
  [`${CONFIG_NAMESPACE}:tokenIssuer`]: (config) =>
    (["issuer", "jwksUri"] as const)
      .map((leaf) => `${CONFIG_NAMESPACE}:tokenIssuer.${leaf}`)
      .filter((key) => getConfigValue(config, parseConfigKey(key)) === undefined)
      .map((key) => [key, escUrl]),
};

/** A key the stack needs that the file does not set, so an imported ESC environment must. */
export interface EscUnknown {
  key: string;
  environments: string[];
}

export interface ResolvedStack {
  config: StackConfig;
  /** ESC environments the stack file imports. */
  environments: string[];
  /** Keys the rules required and the file left to ESC; `config` holds stand-ins for them. */
  fromEsc: EscUnknown[];
  /** The stand-in values used, to show them as unknown (`maskEscStandIns`). */
  standIns: string[];
}

/**
 * Validates a stack file's config as `parseStackConfig` does, except that a key the rules require
 * and the file leaves out is, when the file imports ESC environments, taken as coming from them:
 * reported in `fromEsc` and given a stand-in so the offline plan can still be evaluated. A value
 * the file does set is never overridden (stack config wins over ESC) and is still checked.
 */
export function resolveStackFile(file: Pick<StackFile, "config" | "environments">, stack: string): ResolvedStack {
  let config = file.config;
  const fromEsc: EscUnknown[] = [];
  const standIns: string[] = [];
  for (;;) {
    try {
      return { config: parseStackConfig(config, stack), environments: file.environments, fromEsc, standIns };
    } catch (err) {
      if (!(err instanceof ConfigError) || file.environments.length === 0) throw err;
      let filled = 0;
      for (const problem of err.problems) {
        const key = problem.slice(0, problem.indexOf(": "));
        const standIn = ESC_STAND_INS[key];
        if (!standIn) continue;
        for (const [leaf, value] of standIn(config)) {
          const k = parseConfigKey(leaf);
          if (getConfigValue(file.config, k) !== undefined || fromEsc.some((u) => u.key === leaf)) continue;
          config = withConfigValue(config, k, value);
          fromEsc.push({ key: leaf, environments: file.environments });
          standIns.push(String(value));
          filled++;
        }
      }
      if (filled === 0) throw err;
    }
  }
}

/** `aks-inference:network.subnetId: from ESC environment org/proj/env (unknown offline)`. */
export function describeEscUnknown(u: EscUnknown): string {
  return `${u.key}: from ESC environment${u.environments.length > 1 ? "s" : ""} ${u.environments.join(", ")} (unknown offline)`;
}

/**
 * `value` with the stand-ins shown as unknown: `whole` replaces every string holding one by
 * `unknown` (as a preview shows a value it cannot know); `within` replaces only the stand-in
 * inside the string (a host name keeps its known part: `*.hcp.[unknown].azmk8s.io`).
 */
export function maskEscStandIns<T>(value: T, standIns: readonly string[], unknown: string, mode: "whole" | "within" = "whole"): T {
  if (standIns.length === 0) return value;
  const mask = (v: unknown): unknown => {
    if (typeof v === "string") {
      if (standIns.includes(v)) return unknown;
      if (!v.includes(ESC_UNKNOWN)) return v;
      return mode === "whole" ? unknown : v.replaceAll(ESC_UNKNOWN, unknown);
    }
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  return mask(value) as T;
}

/** Reads `Pulumi.<stack>.yaml` in `dir` and resolves it (`resolveStackFile`). */
export function loadStackFile(stack: string, dir = process.cwd()): ResolvedStack {
  const file = parseStackFile(readFileSync(stackFilePath(stack, dir), "utf8"));
  const plain = plainTextSecretProblems(file);
  if (plain.length > 0) throw new ConfigError(plain);
  return resolveStackFile(file, stack);
}

/** The stack file's passphrase secrets provider state (`encryptionsalt`), undefined with another provider. */
export function encryptionSaltOf(text: string): string | undefined {
  const salt = (parse(text) as { encryptionsalt?: unknown } | null)?.encryptionsalt;
  return typeof salt === "string" ? salt : undefined;
}

/**
 * Raw config of a stack file's text with its `secure:` values decrypted by `decrypt`, for the
 * offline tools that need a secret's value (local mode serving a service's configured keys).
 */
export function readStackFileDecrypted(text: string, decrypt: (ciphertext: string) => string): Record<string, unknown> {
  const reveal = (value: unknown): unknown => {
    if (isSecure(value)) return decrypt(String((value as { secure: unknown }).secure));
    if (Array.isArray(value)) return value.map(reveal);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    return value;
  };
  return reveal((parse(text) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
}

/**
 * Keys of a stack file that the config reads only as secrets but that the file holds in plain
 * text: a service's `keys` (docs/migrating-from-azure-ml-v1.md). Each becomes a problem naming it.
 */
export function plainTextSecretProblems(file: Pick<StackFile, "config" | "secrets">): string[] {
  const services = file.config[`${CONFIG_NAMESPACE}:services`];
  if (!Array.isArray(services)) return [];
  return services.flatMap((svc, i) => {
    const keys = (svc as { keys?: unknown } | null)?.keys;
    if (!keys || typeof keys !== "object") return [];
    return Object.keys(keys)
      .map((field) => `${CONFIG_NAMESPACE}:services[${i}].keys.${field}`)
      .filter((key) => !file.secrets.includes(key))
      .map((key) => `${key}: must be a secret (pulumi config set --secret --path '${key}'), not plain text in the stack file`);
  });
}

/** A service's stack entry to write: its config (secrets as `{ secure: <ciphertext> }`) and the comment lines above it. */
export interface StackServiceEntry {
  value: { readonly name: string };
  comments: readonly string[];
}

/**
 * The stack file's text with each of `services` in `aks-inference:services`: an entry of the same
 * name is replaced (with its comments), a new one appended; everything else — other services,
 * keys, comments, formatting — is kept as it was (the text is edited, not re-rendered).
 */
export function upsertStackServices(text: string, services: readonly StackServiceEntry[]): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`the stack file is not valid YAML: ${doc.errors[0].message}`);
  if (!doc.has("config")) doc.set("config", doc.createNode({}));
  const config = doc.get("config", true);
  if (!isMap(config)) throw new Error("the stack file's config is not a map");
  const key = `${CONFIG_NAMESPACE}:services`;
  if (!config.has(key)) config.set(key, doc.createNode([]));
  const seq = config.get(key, true);
  if (!isSeq(seq)) throw new Error(`${key} is not a list`);
  for (const svc of services) {
    const node = doc.createNode(svc.value) as YAMLMap;
    if (svc.comments.length > 0) node.commentBefore = svc.comments.map((c) => ` ${c.replace(/\s*\n\s*/g, " ")}`).join("\n");
    const at = (seq as YAMLSeq).items.findIndex((item) => isMap(item) && item.get("name") === svc.value.name);
    const old = at >= 0 ? ((seq as YAMLSeq).items[at] as YAMLMap) : undefined;
    // The parser gives the comment above a list's first item to the list itself.
    const oldComment = at === 0 ? (seq.commentBefore ?? old?.commentBefore) : old?.commentBefore;
    // An entry that already says the same (its keys in another order, as the Pulumi CLI may have
    // written them) is left as it is: writing it again would change the file for nothing.
    if (old && isDeepStrictEqual(old.toJSON(), node.toJSON()) && (oldComment ?? "") === (node.commentBefore ?? "")) continue;
    if (old) {
      (seq as YAMLSeq).items[at] = node;
      if (at === 0) seq.commentBefore = undefined;
    } else (seq as YAMLSeq).items.push(node);
  }
  return doc.toString();
}

/** The `secure:` ciphertexts of a service entry's `keys` in a stack file's text, by field. */
export function serviceKeyCiphertexts(text: string, service: string): Record<string, string> {
  const services = ((parse(text) as { config?: Record<string, unknown> } | null)?.config ?? {})[`${CONFIG_NAMESPACE}:services`];
  const entry = Array.isArray(services) ? (services as { name?: unknown; keys?: unknown }[]).find((s) => s?.name === service) : undefined;
  const keys = entry?.keys;
  if (!keys || typeof keys !== "object") return {};
  return Object.fromEntries(Object.entries(keys).filter(([, v]) => isSecure(v)).map(([k, v]) => [k, String((v as { secure: unknown }).secure)]));
}
