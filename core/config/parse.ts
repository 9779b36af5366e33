/**
 * The one validation of a stack's config: raw `Pulumi.<stack>.yaml` values → schema (each key's
 * type, range and default) → the purpose's defaults → the rules between keys → derived names.
 * Every consumer (the Pulumi program, `npm run plan`, local mode, the CLI, the stamping script,
 * the policy pack, the component's args) goes through `parseStackConfig`, so a value is checked
 * once, with one error message, whichever way it is used. Pure: it returns a fully defaulted
 * `StackConfig` or throws a `ConfigError` whose lines each name the offending key and what is allowed.
 */
import { resourceNames, withPurposeDefaults } from "./derived";
import { ConfigError, keyOf, reportIssue, type Problem } from "./problems";
import { checkStack } from "./rules";
import { CONFIG_NAMESPACE, DEFAULT_DNS_SERVICE_IP, DEFAULT_SERVICE_CIDR, LOCATION_KEY, stackSchema, type StackConfig } from "./schema";

/** Strips the `aks-inference:` prefix and reads the provider location; other namespaces are ignored. */
function projectValues(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === LOCATION_KEY) out.location = value;
    else if (key.startsWith(`${CONFIG_NAMESPACE}:`)) out[key.slice(CONFIG_NAMESPACE.length + 1)] = value;
  }
  return out;
}

/**
 * Pulumi hands every config value to the program as a string: objects and lists as JSON,
 * booleans as "true"/"false". Only those are decoded; other strings (e.g. kubernetesVersion
 * "1.33") stay strings.
 */
export function decodeConfigValue(value: string): unknown {
  if (value === "true" || value === "false") return value === "true";
  if (/^\s*[[{]/.test(value)) return JSON.parse(value);
  return value;
}

/**
 * Validates and defaults a stack's raw config (`{ "aks-inference:clusterPurpose": "DevTest", ... }`,
 * object values already parsed from YAML/JSON); `stack` names what derived names and tags are
 * named after. Throws ConfigError listing every problem.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string): StackConfig {
  const problems: string[] = [];
  const problem: Problem = (path, message) => problems.push(`${keyOf(path)}: ${message}`);
  const result = stackSchema.safeParse(projectValues(raw));
  if (!result.success) {
    for (const issue of result.error.issues) reportIssue(issue, problem);
    throw new ConfigError(problems);
  }
  const c = result.data;
  const defaulted = withPurposeDefaults(c);
  const services = checkStack(c, defaulted, problem);
  const names = resourceNames(c, stack, problem);
  // A value several versions inherit is reported once, at the service.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return {
    ...c,
    network: { ...c.network, serviceCidr: c.network.serviceCidr ?? DEFAULT_SERVICE_CIDR, dnsServiceIp: c.network.dnsServiceIp ?? DEFAULT_DNS_SERVICE_IP },
    stack,
    ...names,
    ...defaulted,
    services,
  };
}
