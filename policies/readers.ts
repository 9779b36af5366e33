/**
 * How the policy pack reads the resources it checks: plain `{ type, name, props }` as CrossGuard,
 * the tests and an offline plan give them. The type tokens it knows, paths into props, and what a
 * rule asks of a stack (its cluster and purpose, its model and router Deployments, their
 * containers, Secrets and workload identity, the firewall's allowed hosts, public IPs bound by
 * Services). Values Pulumi does not know yet read as not known, never as wrong. The rules are in rules.ts.
 */
import { parseRoutingSettings, type ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { LABELS, ROLE_MODEL, ROLE_ROUTER, SETTINGS_ANNOTATION, TAGS, WORKLOAD_IDENTITY } from "../core/contracts/naming";

export interface Res {
  type: string;
  name: string;
  urn?: string;
  props: Record<string, unknown>;
}

const types = {
  cluster: "azure-native:containerservice:ManagedCluster",
  pool: "azure-native:containerservice:AgentPool",
  registry: "azure-native:containerregistry:Registry",
  account: "azure-native:storage:StorageAccount",
  ruleGroup: "azure-native:network:FirewallPolicyRuleCollectionGroup",
  publicIp: "azure-native:network:PublicIPAddress",
  resourceGroup: "azure-native:resources:ResourceGroup",
  firewall: "azure-native:network:AzureFirewall",
  firewallPolicy: "azure-native:network:FirewallPolicy",
  vnet: "azure-native:network:VirtualNetwork",
  subnet: "azure-native:network:Subnet",
  route: "azure-native:network:Route",
  roleAssignment: "azure-native:authorization:RoleAssignment",
  deployment: "kubernetes:apps/v1:Deployment",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  service: "kubernetes:core/v1:Service",
  secretProviderClass: "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  secret: "kubernetes:core/v1:Secret",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  federatedCredential: "azure-native:managedidentity:FederatedIdentityCredential",
};
/** The type tokens the rules read (tests build their resources with these; frozen, so none can change them for the next). */
export const RESOURCE_TYPES: Readonly<typeof types> = Object.freeze(types);
const T = RESOURCE_TYPES;

export const get = (o: unknown, ...keys: (string | number)[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined), o);
export const labelsOf = (r: Res) => (get(r.props, "metadata", "labels") ?? {}) as Record<string, string>;
export const annotationsOf = (r: Res) => (get(r.props, "metadata", "annotations") ?? {}) as Record<string, string>;
export const isModelDeployment = (r: Res) => r.type === T.deployment && labelsOf(r)[LABELS.role] === ROLE_MODEL;
export const isRouterDeployment = (r: Res) => r.type === T.deployment && labelsOf(r)[LABELS.role] === ROLE_ROUTER;

interface Container {
  env?: { name: string; value?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export function containers(r: Res): Container[] {
  return (get(r.props, "spec", "template", "spec", "containers") as Container[] | undefined) ?? [];
}
export function envValue(r: Res, name: string): string | undefined {
  for (const c of containers(r)) for (const e of c.env ?? []) if (e.name === name) return e.value;
  return undefined;
}
export function clusterOf(all: Res[]): Res | undefined {
  return all.find((r) => r.type === T.cluster);
}
export function purposeOf(all: Res[]): string | undefined {
  const c = clusterOf(all);
  return c ? ((get(c.props, "tags", TAGS.purpose) as string | undefined) ?? undefined) : undefined;
}
export const notDevTest = (all: Res[]) => {
  const p = purposeOf(all);
  return p !== undefined && p !== "DevTest";
};

/** Values Pulumi does not know yet (first preview) arrive as undefined or this marker (offline plan). */
export const known = (v: unknown): v is string => typeof v === "string" && v !== "" && v !== "[unknown]";
export const isUdrCluster = (r: Res) => r.type === T.cluster && get(r.props, "networkProfile", "outboundType") === "userDefinedRouting";
const NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
export const isNetworkContributorGrant = (r: Res) => r.type === T.roleAssignment && String(r.props.roleDefinitionId ?? "").endsWith(NETWORK_CONTRIBUTOR);
const PIP_NAME_ANNOTATION = "service.beta.kubernetes.io/azure-pip-name";
const LB_GROUP_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-resource-group";

/** Public IPs that LoadBalancer Services bind by name, in the group their annotation names (the node resource group when none: AKS's own). */
export function boundPublicIps(all: Res[]): { service: Res; ipName: string; resourceGroup: string }[] {
  return all
    .filter((r) => r.type === T.service && get(r.props, "spec", "type") === "LoadBalancer")
    .flatMap((service) => {
      const a = annotationsOf(service);
      const ipName = a[PIP_NAME_ANNOTATION];
      const resourceGroup = a[LB_GROUP_ANNOTATION];
      return known(ipName) && known(resourceGroup) && ipName && resourceGroup ? [{ service, ipName, resourceGroup }] : [];
    });
}

/** The stack's own resource groups that hold a public IP of the stack bound by a LoadBalancer Service. */
export function ownPublicIpGroups(all: Res[]): string[] {
  const groups = new Set(all.filter((r) => r.type === T.resourceGroup).map((r) => String(r.props.resourceGroupName ?? "").toLowerCase()));
  const ips = all.filter((r) => r.type === T.publicIp);
  return boundPublicIps(all)
    .map((b) => b.resourceGroup.toLowerCase())
    .filter((g) => groups.has(g) && ips.some((ip) => String(ip.props.resourceGroupName ?? "").toLowerCase() === g));
}

interface RuleCollection {
  ruleCollectionType?: string;
  rules?: Record<string, unknown>[];
}
export const collectionsOf = (g: Res) => (g.props.ruleCollections as RuleCollection[] | undefined) ?? [];
export const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export const SECRETS_STORE_CSI_DRIVER = "secrets-store.csi.k8s.io";
const WORKLOAD_TYPES = new Set([T.deployment, T.daemonSet, T.statefulSet]);
export const isWorkload = (r: Res) => WORKLOAD_TYPES.has(r.type);
export const kindOf = (r: Res) => r.type.split(":").pop() ?? r.type;
export const namespaceOf = (r: Res) => String(get(r.props, "metadata", "namespace") ?? "default");

/** A model Service's routing settings, read with the router's own parser; undefined when not (yet) known. */
export function modelSettingsOf(r: Res): ServiceRoutingSettings | undefined {
  if (r.type !== T.service || labelsOf(r)[LABELS.role] !== ROLE_MODEL) return undefined;
  try {
    return parseRoutingSettings(annotationsOf(r)[SETTINGS_ANNOTATION], labelsOf(r)[LABELS.service], `Service '${r.name}'`);
  } catch {
    return undefined;
  }
}

/** A model Service's auth mode, read with the router's own parser; undefined when not (yet) known. */
export const authModeOf = (r: Res): string | undefined => modelSettingsOf(r)?.authMode;
export const sameNamespace = (a: string, b: string) => a === b || !known(a) || !known(b);

interface PodSpec {
  serviceAccountName?: string;
  volumes?: { secret?: { secretName?: string }; csi?: { driver?: string; volumeAttributes?: Record<string, string> } }[];
  containers?: { env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[]; envFrom?: { secretRef?: { name?: string } }[] }[];
}
/** A flag set to true, or not known yet (on a first preview, an object holding an unknown is unknown as a whole). */
export function enabledOrUnknown(props: Record<string, unknown>, ...path: string[]): boolean {
  for (let i = 1; i <= path.length; i++) if (get(props, ...path.slice(0, i)) === "[unknown]") return true;
  return get(props, ...path) === true;
}
export const podSpecOf = (w: Res) => get(w.props, "spec", "template", "spec") as PodSpec | undefined;

/** Every Secret a workload's pods need: secret volumes, env secretKeyRefs, envFrom secretRefs. */
export function secretRefs(w: Res): string[] {
  const spec = podSpecOf(w);
  const names = [
    ...(spec?.volumes ?? []).map((v) => v.secret?.secretName),
    ...(spec?.containers ?? []).flatMap((c) => [...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name), ...(c.envFrom ?? []).map((e) => e.secretRef?.name)]),
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** The pods sign in with workload identity: the webhook's label, or a CSI volume read with a workload identity's client ID. */
export function usesWorkloadIdentity(w: Res, all: Res[]): boolean {
  if (get(w.props, "spec", "template", "metadata", "labels", WORKLOAD_IDENTITY.useLabel) === "true") return true;
  const classes = (podSpecOf(w)?.volumes ?? []).filter((v) => v.csi?.driver === SECRETS_STORE_CSI_DRIVER).map((v) => v.csi?.volumeAttributes?.secretProviderClass);
  return all.some(
    (r) =>
      r.type === T.secretProviderClass &&
      classes.includes(String(get(r.props, "metadata", "name"))) &&
      get(r.props, "spec", "parameters", "usePodIdentity") !== "true" &&
      Boolean(get(r.props, "spec", "parameters", "clientID")),
  );
}

/** FQDNs and FQDN tags the stack's firewall application rules allow. */
export function firewallAllows(all: Res[]): { fqdns: string[]; tags: string[] } {
  const appRules = all
    .filter((r) => r.type === T.ruleGroup)
    .flatMap((g) => ((g.props.ruleCollections as { rules?: Record<string, unknown>[] }[] | undefined) ?? []).flatMap((c) => c.rules ?? []))
    .filter((rule) => rule.ruleType === "ApplicationRule");
  return { fqdns: appRules.flatMap((rule) => (rule.targetFqdns as string[] | undefined) ?? []), tags: appRules.flatMap((rule) => (rule.fqdnTags as string[] | undefined) ?? []) };
}

/** `mcr.microsoft.com/oss/x:1` → `mcr.microsoft.com`; a name without a registry is Docker Hub's. */
export function registryHost(image: string): string {
  const first = image.split("/")[0];
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first.toLowerCase() : "docker.io";
}

/** A Kubernetes CPU quantity (`2000m`, `2`) in cores; 0 when absent. */
export function quantityCores(q: string | undefined): number {
  if (!q) return 0;
  return q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

/** A Kubernetes memory quantity (`8192Mi`, `8Gi`) in GiB; 0 when absent. */
export function quantityGiB(q: string | undefined): number {
  if (!q) return 0;
  const units: Record<string, number> = { Ki: 1 / 1024 ** 2, Mi: 1 / 1024, Gi: 1, Ti: 1024 };
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) return 0;
  return Number(m[1]) * (m[2] ? units[m[2]] : 1 / 1024 ** 3);
}
