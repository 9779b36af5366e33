/**
 * The stack configuration (`import ... from "core/config"`): its enumerations (enums.ts), its
 * shape (schema.ts), the rules between keys (rules.ts), the one validation that applies both
 * (parse.ts), how a problem names its key (problems.ts), and the values derived from a validated
 * config (derived.ts). docs/architecture.md says which layer a new rule belongs to.
 */
export { CLUSTER_PURPOSES, ClusterPurpose, DeployerPrincipalType, DnsRecordType, EgressMode, NetworkPlugin, NodeOsUpgradeChannel, TokenIssuerType, UpgradeChannel, WeekDay } from "./enums";
export {
  CONFIG_NAMESPACE,
  LOCATION_KEY,
  MAX_MODELS_PER_DEPLOYMENT,
  MAX_PAYLOAD_MB,
  VERSION_SETTINGS,
  schemaHoldsString,
  type AuthMode,
  type FirewallConfig,
  type ModelRef,
  type ModelServiceConfig,
  type ModelVersionConfig,
  type StackConfig,
} from "./schema";
export { ConfigError } from "./problems";
export { decodeConfigValue, parseStackConfig } from "./parse";
export {
  condaPythonVersion,
  endpointDnsLabel,
  isPythonEntryScript,
  keyVaultName,
  keyVaultOf,
  scoringHost,
  scoringUri,
  tlsEnabled,
  unitsOf,
  versionsOf,
  type KeyVaultCertificate,
} from "./derived";
