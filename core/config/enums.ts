/**
 * The enumerations of the stack config, declared once as `as const` objects: Pulumi's component
 * schema inference turns each into a schema enum for programs in other languages, zod takes the
 * same object (schema.ts), and the component's args, the CLI and the policy pack import them.
 *
 * This module imports nothing: the package's public declarations (the component's args) reach it
 * without reaching zod, whose declarations need `esModuleInterop`, which Pulumi's TypeScript
 * template does not set, so a program type-checked with `tsc` would fail inside node_modules.
 */

/** Azure ML v1's cluster purposes: sizing, zones, Defender and router defaults. */
export const ClusterPurpose = {
  /** One zone, small system pool, one router pod. */
  DevTest: "DevTest",
  /** Zones, production sizing, three self-scaling router pods. */
  FastProd: "FastProd",
  /** As FastProd, denser nodes. */
  DenseProd: "DenseProd",
} as const;
export type ClusterPurpose = (typeof ClusterPurpose)[keyof typeof ClusterPurpose];
/** The purposes as a list (command-line choices). */
export const CLUSTER_PURPOSES: readonly ClusterPurpose[] = Object.values(ClusterPurpose);

/** How pods get addresses. */
export const NetworkPlugin = {
  /** The environment creates its VNet, node subnet and route table. Retired by AKS on 31 March 2028 (warned). */
  Kubenet: "kubenet",
  /** Azure CNI Overlay powered by Cilium on an existing subnet (`network.subnetId`). */
  Azure: "azure",
} as const;
export type NetworkPlugin = (typeof NetworkPlugin)[keyof typeof NetworkPlugin];

/** How the cluster reaches the internet. */
export const EgressMode = {
  LoadBalancer: "loadBalancer",
  /** Through an Azure Firewall (the hub's, or one the environment creates). */
  Firewall: "firewall",
} as const;
export type EgressMode = (typeof EgressMode)[keyof typeof EgressMode];

/** Who issues the tokens of token-auth services. */
export const TokenIssuerType = {
  /** This project's router mints them. */
  Builtin: "builtin",
  /** An OpenID Connect issuer such as Microsoft Entra ID. */
  Oidc: "oidc",
} as const;
export type TokenIssuerType = (typeof TokenIssuerType)[keyof typeof TokenIssuerType];

export const DnsRecordType = {
  A: "A",
  CNAME: "CNAME",
} as const;
export type DnsRecordType = (typeof DnsRecordType)[keyof typeof DnsRecordType];

/**
 * AKS cluster auto-upgrade channels (`upgrades.channel`). Not `node-image`: node images have
 * their own channel (`upgrades.nodeOsChannel`), which Microsoft recommends over it.
 */
export const UpgradeChannel = {
  /** Kubernetes version moves only with kubernetesVersion. */
  None: "none",
  /** Latest patch of the cluster's minor version (the default). */
  Patch: "patch",
  /** Latest patch of minor version N-1. */
  Stable: "stable",
  /** Latest patch of the latest minor version. */
  Rapid: "rapid",
} as const;
export type UpgradeChannel = (typeof UpgradeChannel)[keyof typeof UpgradeChannel];

/** AKS node OS upgrade channels (`upgrades.nodeOsChannel`). */
export const NodeOsUpgradeChannel = {
  None: "None",
  /** The OS's own patching (nightly), no reimage. */
  Unmanaged: "Unmanaged",
  /** AKS's weekly patched node image (the default). */
  NodeImage: "NodeImage",
  /** AKS-tested security patches only, at the cost of hosting their images. */
  SecurityPatch: "SecurityPatch",
} as const;
export type NodeOsUpgradeChannel = (typeof NodeOsUpgradeChannel)[keyof typeof NodeOsUpgradeChannel];

export const WeekDay = {
  Monday: "Monday",
  Tuesday: "Tuesday",
  Wednesday: "Wednesday",
  Thursday: "Thursday",
  Friday: "Friday",
  Saturday: "Saturday",
  Sunday: "Sunday",
} as const;
export type WeekDay = (typeof WeekDay)[keyof typeof WeekDay];

/** Principal types a role assignment names (`deployer.principalType`; core/azure/identity.ts). */
export const DeployerPrincipalType = {
  User: "User",
  ServicePrincipal: "ServicePrincipal",
  Group: "Group",
} as const;
export type DeployerPrincipalType = (typeof DeployerPrincipalType)[keyof typeof DeployerPrincipalType];
