/**
 * The package entry (package.json `main`): what other programs import, and what the Pulumi CLI
 * loads as a component plugin (PulumiPlugin.yaml) to serve `InferenceEnvironment` to Python, Go,
 * YAML and C# programs. Loading it creates nothing; this repository's own program is `index.ts`.
 */
export { InferenceEnvironment, type InferenceEnvironmentOptions, type ServiceEndpoint, type ServiceKeys } from "./components/inferenceEnvironment";
export {
  ClusterPurpose,
  DnsRecordType,
  EgressMode,
  EnvironmentArgsError,
  NetworkPlugin,
  TokenIssuerType,
  type InferenceEnvironmentArgs,
  type EnvironmentDns,
  type EnvironmentDnsRecord,
  type EnvironmentDnsZone,
  type EnvironmentEndpoint,
  type EnvironmentFirewall,
  type EnvironmentGpuPool,
  type EnvironmentKeyVaultCertificate,
  type EnvironmentModel,
  type EnvironmentNetwork,
  type EnvironmentNodePool,
  type EnvironmentRequiredHosts,
  type EnvironmentRouter,
  type EnvironmentService,
  type EnvironmentServiceEnvironment,
  type EnvironmentTls,
  type EnvironmentTokenIssuer,
} from "./core/config/environmentArgs";
