/**
 * Stamping a new environment: a new `Pulumi.<env>.yaml` rendered from an existing stack file
 * (the template) with the new environment's region and purpose, validated with the same
 * `parseStackConfig` as every other entry point before anything is written or created.
 *
 * A template holds values that only make sense in its own environment: the network team's
 * subnet and route table, the hub firewall, the custom domain and its certificate, the token
 * audience, pinned global names, the ESC environments it imports. Copied silently, a stamped
 * `prodneu` would join prod's westeurope subnet and answer on prod's domain. So each such value
 * must be given for the new environment (`set`), explicitly kept (`keep`) or left out (`unset`,
 * its default then applies); otherwise the stamp is refused with the full list. Secrets are
 * never copied: their ciphertext only decrypts under the template stack's key; and never given
 * with `--set`, which would write them in plain text. The region must be one of Azure's, and a
 * GPU pool's VM size one Azure offers there, as far as core/azure/regions.ts knows.
 */
import { parseDocument } from "yaml";
import { gpuSizeRegionProblem, GPU_FAMILIES, regionProblem } from "../azure/regions";
import { CLUSTER_PURPOSES, CONFIG_NAMESPACE, LOCATION_KEY, decodeConfigValue, schemaHoldsString, type ClusterPurpose, type StackConfig } from ".";
import {
  SECRET_PLACEHOLDER,
  formatConfigKey,
  getConfigValue,
  parseConfigKey,
  parseStackFile,
  resolveStackFile,
  withConfigValue,
  type ConfigKey,
  type EscUnknown,
} from "./stackFile";

export interface StampInput {
  /** New stack / environment name, e.g. `test` or `prod-weu`. */
  env: string;
  region: string;
  /** Default: the template's. */
  purpose?: ClusterPurpose;
  /** Name of the template stack, for messages (default `template`). */
  from?: string;
  /** `key=value`: the new environment's value of a key (`network.subnetId=/subscriptions/...`). */
  set?: readonly string[];
  /** Keys whose template value is right for the new environment too (`endpoint.customDomain`). */
  keep?: readonly string[];
  /** Keys to leave out of the new stack file, so their default applies (e.g. a pinned name). */
  unset?: readonly string[];
  /** ESC environments (`org/project/env`) the new stack file imports, in order. */
  esc?: readonly string[];
}

export interface StampResult {
  text: string;
  /** The new stack's config; keys left to ESC hold stand-ins (see `fromEsc`). */
  config: StackConfig;
  /** Secret keys of the template that were not copied: set them for the new stack. */
  secretsToSet: string[];
  /** Keys the config needs that the new file leaves to its ESC environments. */
  fromEsc: EscUnknown[];
}

export class StampError extends Error {}

/** Stack names become resource names: keep them short, lowercase and DNS-safe. */
const ENV_NAME = /^[a-z][a-z0-9-]{0,19}$/;
/** `org/project/env` (or `project/env`, resolved in the stack's organization). */
const ESC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*){1,2}$/;
/** Pseudo-key of the template's `environment:` block (its ESC imports). */
export const ESC_KEY = "environment";

/**
 * Config values that belong to one environment. An object value (e.g. the Key Vault reference)
 * counts leaf by leaf; a list (DNS records) as a whole. `secret`: the stack reads the value only
 * as a secret (the router's TLS key pair, `pulumi config set --secret`), so it is never given
 * with `--set` (see SCHEMA_SECRETS).
 */
export const ENVIRONMENT_SPECIFIC: readonly { key: string; what: string; globallyUnique?: boolean; secret?: boolean }[] = [
  { key: "clusterName", what: "pinned cluster name" },
  { key: "resourceGroupName", what: "pinned resource group" },
  { key: "registryName", what: "pinned ACR name, unique across Azure", globallyUnique: true },
  { key: "storageAccountName", what: "pinned storage account name, unique across Azure", globallyUnique: true },
  { key: "network.subnetId", what: "the network team's node subnet" },
  { key: "network.firewallSubnetId", what: "the AzureFirewallSubnet of the environment's VNet" },
  { key: "network.routeTableId", what: "the route table associated with the node subnet" },
  { key: "firewall.policyId", what: "the hub firewall's policy" },
  { key: "firewall.privateIp", what: "the hub firewall's private IP" },
  { key: "firewall.publicIp", what: "the hub firewall's public IP" },
  { key: "endpoint.customDomain", what: "the scoring endpoint's domain" },
  { key: "endpoint.dnsLabel", what: "pinned cloudapp.azure.com label" },
  { key: "endpoint.dnsZone", what: "the Azure DNS zone of the custom domain" },
  { key: "endpoint.internalIp", what: "the router's IP in the node subnet" },
  { key: "endpoint.tls.keyVault", what: "the Key Vault certificate of the custom domain" },
  // Secrets (then listed to set, not here); one a template holds in plain text is still the domain's.
  { key: "endpoint.tls.certificate", what: "the custom domain's certificate", secret: true },
  { key: "endpoint.tls.privateKey", what: "the custom domain's private key", secret: true },
  { key: "dns.resolverVnetId", what: "the VNet whose DNS resolver queries the private zones (the hub's)" },
  { key: "dns.records", what: "private DNS records (they name the environment's hosts)" },
  { key: "tokenIssuer.issuer", what: "the token issuer" },
  { key: "tokenIssuer.jwksUri", what: "the token issuer's signing keys" },
  { key: "tokenIssuer.audience", what: "the token audience" },
];

/** Keys the stack reads only as secrets, canonical (`aks-inference:endpoint.tls.privateKey`). */
export const SCHEMA_SECRETS: readonly string[] = ENVIRONMENT_SPECIFIC.filter((e) => e.secret).map((e) => formatConfigKey(parseConfigKey(e.key)));

/** Canonical form of a key given on the command line; `environment` stays as is. */
function canonical(flag: string, key: string): string {
  if (key === ESC_KEY) return key;
  try {
    return formatConfigKey(parseConfigKey(key));
  } catch (err) {
    throw new StampError(`${flag} ${(err as Error).message}`);
  }
}

/** Whether the user's key `by` covers the listed key `key` (equal, or an object/list containing it). */
const covers = (by: string, key: string) => key === by || key.startsWith(`${by}.`) || key.startsWith(`${by}[`);

interface Specific {
  key: string;
  what: string;
  value: unknown;
  globallyUnique: boolean;
}

/** The template's environment-specific values, leaf by leaf, secrets left out (never copied anyway). */
function specificValues(config: Record<string, unknown>, environments: string[], secrets: string[]): Specific[] {
  const out: Specific[] = [];
  for (const entry of ENVIRONMENT_SPECIFIC) {
    const k = parseConfigKey(entry.key);
    const visit = (value: unknown, at: ConfigKey) => {
      const key = formatConfigKey(at);
      if (value === undefined || secrets.includes(key)) return;
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [child, v] of Object.entries(value)) visit(v, { ...at, path: [...at.path, child] });
      } else out.push({ key, what: entry.what, value, globallyUnique: entry.globallyUnique ?? false });
    };
    visit(getConfigValue(config, k), k);
  }
  if (environments.length > 0) out.push({ key: ESC_KEY, what: "ESC environments the template imports", value: environments, globallyUnique: false });
  return out;
}

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/**
 * The secrets a `--set key=value` would write: the key itself if it is a secret (of the template
 * or of the schema) or lies inside one, or each schema secret the value holds when the key is an
 * object around it (`endpoint.tls={"privateKey": ...}`).
 */
function secretsIn(key: string, value: unknown, templateSecrets: readonly string[]): string[] {
  if (templateSecrets.includes(key)) return [key];
  return SCHEMA_SECRETS.filter((secret) => {
    if (secret === key || covers(secret, key)) return true;
    if (!covers(key, secret)) return false;
    const rest = parseConfigKey(secret).path.slice(parseConfigKey(key).path.length);
    return getConfigValue({ value }, { top: "value", path: rest }) !== undefined;
  });
}

/** How to give a secret instead of `--set`: the CLI once the stack exists, or an ESC environment. */
function secretRefusal(secret: string, where: string, env: string): string {
  return (
    `--set ${secret}: it is a secret ${where}; --set would write it in plain text into Pulumi.${env}.yaml. ` +
    `Set it once the stack exists: \`pulumi config set --secret --path '${secret}' --stack ${env} < <file>\` ` +
    "(without a value on the command line the CLI prompts for it or reads it from standard input), " +
    "or from an ESC environment the stack imports (--esc) that holds it as a secret (fn::secret)"
  );
}

/**
 * The value of `--set key=value`, decoded as Pulumi decodes config: true/false, JSON objects and
 * lists; a number, unless the template or the config schema holds a string there
 * (`kubernetesVersion: "1.36"`); a JSON-quoted string (`'"1.36"'`) to force a string.
 */
function setValue(raw: string, templateValue: unknown, schemaString: boolean): unknown {
  if (typeof templateValue !== "string" && !schemaString && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  try {
    return raw.startsWith('"') ? (JSON.parse(raw) as unknown) : decodeConfigValue(raw);
  } catch {
    throw new StampError(`--set value '${raw}': not valid JSON`);
  }
}

/**
 * Renders the new stack file's text from the template's text (comments and layout kept), and
 * returns it with its validated config. Throws `StampError` naming the bad argument, or listing
 * every environment-specific value the new environment was not given.
 */
export function renderStack(templateText: string, input: StampInput): StampResult {
  const from = input.from ?? "template";
  if (!ENV_NAME.test(input.env)) throw new StampError(`--env '${input.env}': must be 1-20 lowercase letters, digits and '-', starting with a letter`);
  if (input.purpose !== undefined && !(CLUSTER_PURPOSES as readonly string[]).includes(input.purpose)) {
    throw new StampError(`--purpose '${input.purpose}': must be one of ${CLUSTER_PURPOSES.join(", ")}`);
  }
  const badRegion = regionProblem(input.region);
  if (badRegion) throw new StampError(`--region '${input.region}': ${badRegion}`);
  for (const name of input.esc ?? []) if (!ESC_NAME.test(name)) throw new StampError(`--esc '${name}': must name an ESC environment as <org>/<project>/<environment>`);

  const template = parseStackFile(templateText);
  const sets = (input.set ?? []).map((pair) => {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new StampError(`--set '${pair}': must be <key>=<value>, e.g. network.subnetId=/subscriptions/...`);
    const key = canonical("--set", pair.slice(0, eq));
    if (key === ESC_KEY) throw new StampError("--set environment: ESC environments are given with --esc <org/project/env>");
    if (key === LOCATION_KEY) throw new StampError(`--set ${LOCATION_KEY}: the region is given with --region`);
    // A secret's value is not even parsed (a parse error would show it).
    const secrets = secretsIn(key, undefined, template.secrets);
    if (secrets.length > 0) return { key, value: undefined, secrets };
    let value: unknown;
    try {
      const configKey = parseConfigKey(key);
      const [namespace, name] = configKey.top.split(":");
      value = setValue(pair.slice(eq + 1), getConfigValue(template.config, configKey), namespace === CONFIG_NAMESPACE && schemaHoldsString(name, configKey.path));
    } catch (err) {
      if (!SCHEMA_SECRETS.some((secret) => covers(key, secret))) throw err;
      throw new StampError(`--set ${key}: not valid JSON (the value is not shown: it may hold a secret)`);
    }
    return { key, value, secrets: secretsIn(key, value, template.secrets) };
  });
  // Every secret any --set would write, all at once (never the values).
  const secretSets = [...new Set(sets.flatMap((s) => s.secrets))];
  if (secretSets.length > 0) {
    throw new StampError(
      secretSets.map((secret) => secretRefusal(secret, template.secrets.includes(secret) ? `in Pulumi.${from}.yaml` : "(the stack reads it only as one)", input.env)).join("\n"),
    );
  }
  const keeps = (input.keep ?? []).map((k) => canonical("--keep", k));
  const unsets = (input.unset ?? []).map((k) => canonical("--unset", k));

  const specific = specificValues(template.config, template.environments, template.secrets);
  for (const key of keeps) {
    const kept = specific.filter((s) => covers(key, s.key));
    if (kept.length === 0) throw new StampError(`--keep ${key}: Pulumi.${from}.yaml has no environment-specific value there (nothing to keep)`);
    const unique = kept.find((s) => s.globallyUnique);
    if (unique) throw new StampError(`--keep ${unique.key}: the name is unique across Azure, so ${from}'s would collide; --set a new one or --unset it (derived from '${input.env}')`);
  }
  for (const key of unsets) {
    if (key === ESC_KEY ? template.environments.length === 0 : getConfigValue(template.config, parseConfigKey(key)) === undefined) {
      throw new StampError(`--unset ${key}: Pulumi.${from}.yaml does not set it`);
    }
  }
  const given = [...sets.map((s) => s.key), ...keeps, ...unsets];
  if ((input.esc ?? []).length > 0) given.push(ESC_KEY);
  const missing = specific.filter((s) => !given.some((g) => covers(g, s.key)));
  if (missing.length > 0) {
    const width = Math.max(...missing.map((m) => m.key.length));
    throw new StampError(
      [
        `Pulumi.${from}.yaml holds ${missing.length} value${missing.length === 1 ? "" : "s"} specific to '${from}'; give each for '${input.env}' (--set <key>=<value>), keep ${from}'s (--keep <key>) or leave it out (--unset <key>):`,
        ...missing.map((m) => `  ${m.key.padEnd(width)}  ${m.what}; ${from}: ${show(m.value)}${m.key === ESC_KEY ? " (--esc <org/project/env> to import others)" : ""}`),
      ].join("\n"),
    );
  }

  const doc = parseDocument(templateText);
  const at = (key: string) => {
    const k = parseConfigKey(key);
    return ["config", k.top, ...k.path];
  };
  doc.setIn(["config", LOCATION_KEY], input.region);
  if (input.purpose) doc.setIn(["config", `${CONFIG_NAMESPACE}:clusterPurpose`], input.purpose);
  // Azure ML v1 tokens depend on the issuer's region matching the cluster's: it moves with it.
  if (doc.hasIn(["config", `${CONFIG_NAMESPACE}:tokenIssuer`, "region"])) doc.setIn(["config", `${CONFIG_NAMESPACE}:tokenIssuer`, "region"], input.region);
  for (const key of template.secrets) doc.deleteIn(at(key));
  // A secret inside a value the new environment replaces or drops is gone with it.
  const secretsToSet = template.secrets.filter((secret) => ![...sets.map((s) => s.key), ...unsets].some((by) => covers(by, secret)));
  // Stryker disable next-line ConditionalExpression: `environment` is not under config: (deleting aks-inference:environment is a no-op); the guard says what is meant
  for (const key of unsets) if (key !== ESC_KEY) doc.deleteIn(at(key));
  for (const { key, value } of sets) doc.setIn(at(key), value);
  const environments = [...(keeps.includes(ESC_KEY) ? template.environments : []), ...(input.esc ?? [])];
  if (environments.length > 0) doc.set(ESC_KEY, doc.createNode(environments));
  else doc.delete(ESC_KEY);
  doc.commentBefore = ` Stamped by \`npm run stamp\` from '${from}': environment '${input.env}', in ${input.region}.`;
  const text = doc.toString();

  // Validated as the new stack will be: with its secrets (to be set) present but unreadable.
  const rendered = parseStackFile(text);
  const withSecrets = secretsToSet.reduce((config, key) => withConfigValue(config, parseConfigKey(key), SECRET_PLACEHOLDER), rendered.config);
  const resolved = resolveStackFile({ config: withSecrets, environments: rendered.environments }, input.env);
  const gpuProblems = resolved.config.gpuPools.flatMap((pool, i) => {
    const problem = gpuSizeRegionProblem(pool.vmSize, input.region);
    return problem ? [{ line: `  ${CONFIG_NAMESPACE}:gpuPools[${i}].vmSize: ${problem}`, retired: GPU_FAMILIES.some((f) => f.retired && f.sizes.test(pool.vmSize)) }] : [];
  });
  if (gpuProblems.length > 0) {
    const one = gpuProblems.length === 1;
    throw new StampError(
      [
        `Pulumi.${input.env}.yaml: ${one ? "a GPU pool's VM size is" : "GPU pools' VM sizes are"} not offered in ${input.region}:`,
        ...gpuProblems.map((p) => p.line),
        `Give another size (--set gpuPools[<n>].vmSize=<size>)${gpuProblems.every((p) => p.retired) ? "" : " or another --region"}.`,
      ].join("\n"),
    );
  }
  return { text, config: resolved.config, secretsToSet, fromEsc: resolved.fromEsc };
}
