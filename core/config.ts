/**
 * The stack configuration: its types, defaults and validation, in one place.
 *
 * Every consumer (the Pulumi program, `npm run plan`, local mode, the CLI, the stamping script,
 * the policy pack) calls `parseStackConfig` on the raw `Pulumi.<stack>.yaml` values, so a value
 * is checked once, with one error message, whichever way it is used. The function is pure: it
 * takes the raw key/value map and returns a fully defaulted `StackConfig` or throws a
 * `ConfigError` whose lines each name the offending key and what is allowed.
 */
import { z } from "zod";
import { IMPLICIT_VERSION, splitProblems, unitOf } from "./versions";
import { purposeProfile } from "./purpose";
import { cidrsOverlap, parseResourceId, parseTopLevelId, usableInSubnet } from "./azureRules";
import { DEPLOYER_PRINCIPAL_TYPES } from "./identity";
import { DEFAULT_NAMESPACE, DEFAULT_SCORING_TIMEOUT_MS, modelDeploymentName } from "./naming";

/** Project config namespace: keys are `aks-inference:<key>` in `Pulumi.<stack>.yaml`. */
export const CONFIG_NAMESPACE = "aks-inference";
/** The Azure region comes from the provider's own key, as in every azure-native program. */
export const LOCATION_KEY = "azure-native:location";

/** Hard limits of Azure ML v1 AKS web services. */
export const MAX_MODELS_PER_DEPLOYMENT = 1000;
export const MAX_PAYLOAD_MB = 100;

export const CLUSTER_PURPOSES = ["DevTest", "FastProd", "DenseProd"] as const;
export type ClusterPurpose = (typeof CLUSTER_PURPOSES)[number];
export const NETWORK_PLUGINS = ["kubenet", "azure"] as const;
/** kubenet's service range and cluster DNS address when not given (Azure CNI must give its own). */
export const DEFAULT_SERVICE_CIDR = "10.0.0.0/16";
export const DEFAULT_DNS_SERVICE_IP = "10.0.0.10";
export type NetworkPlugin = (typeof NETWORK_PLUGINS)[number];
export const EGRESS_MODES = ["loadBalancer", "firewall"] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];
/**
 * AKS auto-upgrade channels (`upgrades.channel`). Not `node-image`: node images have their own
 * channel (`upgrades.nodeOsChannel`), which Microsoft recommends over it.
 */
export const UPGRADE_CHANNELS = ["none", "patch", "stable", "rapid"] as const;
export type UpgradeChannel = (typeof UPGRADE_CHANNELS)[number];
/** AKS node OS upgrade channels (`upgrades.nodeOsChannel`). */
export const NODE_OS_UPGRADE_CHANNELS = ["None", "Unmanaged", "NodeImage", "SecurityPatch"] as const;
export type NodeOsUpgradeChannel = (typeof NODE_OS_UPGRADE_CHANNELS)[number];
export const WEEK_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];
export type AuthMode = "key" | "token" | "none";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const dnsLabel = (max: number) =>
  z
    .string()
    .regex(new RegExp(`^[a-z][a-z0-9-]{1,${max - 2}}[a-z0-9]$`), {
      message: `must be 3-${max} characters of lowercase letters, digits and '-', starting with a letter`,
    });
const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    message: "must be a fully qualified lowercase DNS name such as 'ml.contoso.com'",
  });
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: "must be an IPv4 CIDR such as '10.224.0.0/16'" });
const subnetId = z
  .string()
  .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i, {
    message: "must be a subnet resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
  });
const resourceId = (type: string, example: string) =>
  z.string().regex(new RegExp(`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/${type}/[^/]+$`, "i"), {
    message: `must be a ${example} resource ID: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/${type}/<name>`,
  });
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, { message: "must be an IPv4 address" });
const positiveInt = z.number().int().positive();
const labels = z.record(z.string(), z.string());

const networkSchema = z
  .object({
    /** `kubenet` (default): the stack creates VNet, subnet and route table. `azure`: CNI on an existing subnet. */
    plugin: z.enum(NETWORK_PLUGINS).default("kubenet"),
    /** kubenet only: address space of the VNet the stack creates. */
    vnetAddressSpace: cidr.default("10.224.0.0/12"),
    /** kubenet only: prefix of the node subnet. */
    nodeSubnetPrefix: cidr.default("10.224.0.0/16"),
    /** kubenet only, with firewall egress: prefix of `AzureFirewallSubnet` (at least /26). */
    firewallSubnetPrefix: cidr.default("10.225.0.0/26"),
    /** azure (CNI) only, required: resource ID of the existing node subnet. */
    subnetId: subnetId.optional(),
    /**
     * azure (CNI) with a firewall this stack creates: resource ID of the existing
     * `AzureFirewallSubnet`; the firewall is created in that VNet's resource group (Azure requires it).
     */
    firewallSubnetId: subnetId.optional(),
    /**
     * azure (CNI) with firewall egress, required: the existing route table the network team has
     * associated with `subnetId`. With a hub firewall it already sends 0.0.0.0/0 to
     * `firewall.privateIp`; with the stack's own firewall, the stack adds that route. Checked
     * during `pulumi preview` before the cluster is created.
     */
    routeTableId: resourceId("routeTables", "route table").optional(),
    /** Pod address range: kubenet, and Azure CNI Overlay (CNI clusters use overlay); outside the VNet. */
    podCidr: cidr.default("10.244.0.0/16"),
    /**
     * Kubernetes Service range. kubenet: default 10.0.0.0/16 (the stack's own VNet). azure (CNI),
     * required: the default contains addresses hub networks typically use (issue 26).
     */
    serviceCidr: cidr.optional(),
    /** Cluster DNS address inside serviceCidr; kubenet default 10.0.0.10, azure (CNI) required. */
    dnsServiceIp: ipv4.optional(),
  })
  .strict();

/**
 * Egress firewall (with `egress: firewall`). Either the hub's existing firewall — `policyId`,
 * `privateIp`, `publicIp`: the stack only adds its rule collection group to that policy — or,
 * without `policyId`, a firewall the stack creates in the VNet's resource group.
 */
const firewallSchema = z
  .object({
    /** Existing (hub) firewall: resource ID of its firewall policy; the stack adds a rule collection group to it. */
    policyId: resourceId("firewallPolicies", "firewall policy").optional(),
    /** Existing firewall: its private IP (the route table's 0.0.0.0/0 next hop, checked during preview). */
    privateIp: ipv4.optional(),
    /** Existing firewall: the public IP its DNAT rule for the scoring endpoint listens on (the custom domain points here). */
    publicIp: ipv4.optional(),
    /** Priority of the stack's rule collection group (100-65000): in a shared hub policy it must not collide with other groups. */
    priority: z.number().int().min(100).max(65000).default(400),
    /** Stack-created firewall: number of public IPs (SNAT ports scale with them); default 1 for DevTest, 20 otherwise (Microsoft's production minimum). */
    publicIpCount: z.number().int().min(1).max(250).optional(),
  })
  .strict();

const poolSchema = z
  .object({
    vmSize: z.string().optional(),
    count: positiveInt.optional(),
    /** With both minCount and maxCount the pool autoscales nodes (the router never does). */
    minCount: positiveInt.optional(),
    maxCount: positiveInt.optional(),
  })
  .strict();

const gpuPoolSchema = z
  .object({
    /** AKS agent pool name: 1-12 lowercase letters and digits, starting with a letter. */
    name: z.string().regex(/^[a-z][a-z0-9]{0,11}$/, { message: "must be 1-12 lowercase letters and digits, starting with a letter" }),
    /** An N-series (GPU) VM size, e.g. Standard_NC6s_v3 or Standard_NC4as_T4_v3. */
    vmSize: z.string().regex(/^Standard_N[A-Za-z0-9_]+$/, { message: "must be a GPU (N-series) VM size such as 'Standard_NC4as_T4_v3'" }),
    count: z.number().int().min(0).default(1),
    minCount: z.number().int().min(0).optional(),
    maxCount: positiveInt.optional(),
    /** GPUs per node of this VM size, used to check that GPU services fit. */
    gpusPerNode: positiveInt.default(1),
    /**
     * Run a Job on this pool during `pulumi up` (after the NVIDIA device plugin, before its GPU
     * services) that must see a GPU with `nvidia-smi -L`. On a pool that may have no node it
     * waits for a node to be added; set false to skip it.
     */
    verifyOnDeploy: z.boolean().default(true),
    labels: labels.default({}),
  })
  .strict();

const KEY_VAULT_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i;
const KEY_VAULT_ID_FORM = "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>";
/** Microsoft: "Naming rules and restrictions for Azure resources" (Microsoft.KeyVault vaults: 3-24 alphanumerics and hyphens, starting with a letter, no consecutive hyphens). */
const KEY_VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const KEY_VAULT_NAME_MESSAGE = "must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter";

const endpointSchema = z
  .object({
    /** Scoring endpoint host name; with it no `cloudapp.azure.com` name is created or required. */
    customDomain: hostname.optional(),
    /**
     * `cloudapp.azure.com` label of the scoring endpoint's public IP, used exactly as given
     * (`<label>.<region>.cloudapp.azure.com`). Default: the cluster name, scoped to the tenant:
     * labels are global to all tenants of a region, so Azure appends a hash of the tenant
     * (`<cluster>-<hash>.<region>.cloudapp.azure.com`) and the name can neither be taken by
     * another tenant nor change when the IP is re-created.
     */
    dnsLabel: dnsLabel(63).optional(),
    /** Azure DNS zone (in this subscription) to create the custom domain's record in; omit to manage DNS yourself. */
    dnsZone: z.object({ resourceGroupName: z.string().min(1), zoneName: hostname }).strict().optional(),
    /**
     * With firewall egress, required: the fixed private IP of the router's internal load balancer,
     * in the node subnet. The firewall DNATs its public IP to it, so it must be known before the
     * Service exists.
     */
    internalIp: ipv4.optional(),
    /**
     * TLS at the router: a certificate in Azure Key Vault (read by the AKS Key Vault secrets
     * provider), or a certificate and key given as Pulumi secrets (`pulumi config set --secret`),
     * which the stack stores in a Kubernetes TLS Secret.
     */
    tls: z
      .object({
        /** Refused with an explanation (see parseStackConfig): the stack cannot know it exists. */
        secretName: z.string().min(1).optional(),
        certificate: z.string().min(1).optional(),
        privateKey: z.string().min(1).optional(),
        keyVault: z
          .object({
            /**
             * Resource ID of the vault, in any subscription of the tenant (platform teams keep
             * certificates in their own); the vault uses Azure RBAC authorization.
             */
            id: z.string().regex(KEY_VAULT_ID, { message: `must be a Key Vault resource ID: ${KEY_VAULT_ID_FORM}` }).optional(),
            /** Older form, a vault in the stack's subscription: its name (3-24 letters, digits and '-'). Prefer id. */
            name: z.string().regex(KEY_VAULT_NAME, { message: KEY_VAULT_NAME_MESSAGE }).optional(),
            /** Older form, with name: the vault's resource group. Prefer id. */
            resourceGroupName: z.string().min(1).max(90).optional(),
            /** Key Vault certificate (PEM or PKCS#12) with the private key: the router reads it as one PEM bundle. */
            certificateName: z.string().regex(/^[a-zA-Z0-9-]{1,127}$/, { message: "must be 1-127 letters, digits and '-'" }),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const dnsSchema = z
  .object({
    /** Private DNS zones to create and link to the cluster VNet (or `resolverVnetId`), e.g. `internal.contoso.com`. */
    privateZones: z.array(hostname).default([]),
    /**
     * The VNet whose DNS resolution the VNet's custom DNS servers use (usually the hub: the
     * firewall's DNS proxy or a DNS Private Resolver): the zones are linked to it instead of the
     * cluster's VNet, whose custom DNS servers would not query zones linked to it (issue 26).
     * May be in another subscription; the link lives with the zone. Checked during preview.
     */
    resolverVnetId: resourceId("virtualNetworks", "virtual network").optional(),
    /** Records to create in those zones. */
    records: z
      .array(
        z
          .object({
            zone: hostname,
            name: z.string().min(1),
            type: z.enum(["A", "CNAME"]),
            value: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const tokenIssuerSchema = z
  .object({
    /** `builtin`: tokens minted by this project's issuer (no Entra needed). `oidc`: e.g. Microsoft Entra ID. */
    type: z.enum(["builtin", "oidc"]).default("builtin"),
    /** oidc: the `iss` tokens must carry. */
    issuer: z.string().url().optional(),
    /** oidc: JWKS URL of the signing keys. */
    jwksUri: z.string().url().optional(),
    /** `aud` tokens must carry; default: the service name. */
    audience: z.string().min(1).optional(),
    /** Region of the workspace/issuer; Azure ML v1: token auth depends on it matching the AKS region. */
    region: z.string().min(1).optional(),
    /** Lifetime of built-in tokens. */
    ttlSeconds: positiveInt.default(3600),
    /** Tokens living longer than this (exp − iat) are refused, whoever issued them; default a day. */
    maxLifetimeSeconds: positiveInt.default(24 * 3600),
  })
  .strict();

const routerSchema = z
  .object({
    /** Router pods; default 1 for DevTest, 3 otherwise. */
    replicas: positiveInt.optional(),
    /** Largest accepted request body in MB (MiB); at most 100, as Azure ML v1. */
    payloadLimitMb: z.number().positive().max(MAX_PAYLOAD_MB, { message: `must be at most ${MAX_PAYLOAD_MB} (Azure ML v1's payload limit)` }).default(MAX_PAYLOAD_MB),
    /** Self-scaling (CPU up, then pods out); default off for DevTest, on otherwise. */
    selfScaling: z.boolean().optional(),
    /** Routing time (ms, p95) above which the router scales itself up, then out. */
    selfScalingLatencyThresholdMs: z.number().positive().default(10),
    /** Router image; default: built from `router/Dockerfile` and pushed to the stack's ACR. */
    image: z.string().min(1).optional(),
    /** Client connections per router pod at most; default: half of what the pod's open-file limit leaves, at most 10,000. */
    maxConnections: positiveInt.optional(),
    /** Keep the client's X-Forwarded-For chain (only behind a proxy you trust); default: replace it with the peer address. */
    trustForwardedFor: z.boolean().default(false),
  })
  .strict();

const modelSchema = z.union([
  z.string().min(1),
  z
    .object({
      name: z.string().min(1),
      path: z.string().min(1),
      /** Registered model version: the `<version>` folder of Azure ML's `azureml-models/<name>/<version>/` layout. */
      version: positiveInt.default(1),
    })
    .strict(),
]);

const environmentSchema = z
  .object({
    /** Base image of the environment image; default: an Azure ML base image from MCR (Python) or an MCR Node image (JavaScript). */
    baseImage: z.string().min(1).optional(),
    /** JavaScript entry scripts: a package.json whose dependencies the script needs (its lock file next to it counts too). */
    dependencies: z.string().min(1).optional(),
    /** A Dockerfile of your own instead of the project's scoring Dockerfile. */
    dockerfile: z.string().min(1).optional(),
    /** Python entry scripts: a conda specification (`conda.yml`, Azure ML v1's `CondaDependencies` file). */
    condaFile: z.string().min(1).optional(),
    /** Python entry scripts: a pip `requirements.txt` (instead of a conda file). */
    pipRequirements: z.string().min(1).optional(),
    /** Python version of the environment image, e.g. '3.11'; default: the conda file's `python=` pin, else 3.11. */
    pythonVersion: z.string().regex(/^3\.\d{1,2}(\.\d{1,2})?$/, { message: "must be a Python 3 version such as '3.11'" }).optional(),
    /** Local mode only: the interpreter that runs the script (e.g. '/usr/bin/python3'); default: the first python3 that imports the environment's packages. */
    python: z.string().min(1).optional(),
  })
  .strict();

const serviceSchema = z
  .object({
    name: dnsLabel(32),
    /** Model files or folders (paths relative to the repository), or `{ name, path }`. */
    models: z.array(modelSchema).max(MAX_MODELS_PER_DEPLOYMENT, {
      message: `at most ${MAX_MODELS_PER_DEPLOYMENT} models per deployment (Azure ML v1's limit); split the service`,
    }).default([]),
    /** Project folder zipped into the package (honoring .amlignore, else .gitignore). */
    sourceDirectory: z.string().min(1).optional(),
    /** Entry script inside sourceDirectory: `score.py` (Azure ML's init()/run(raw_data)) or a JavaScript module exporting init() and run(input); omit for the built-in ONNX handler. */
    entryScript: z.string().min(1).optional(),
    environment: environmentSchema.default({}),
    cpuCores: z.number().positive().default(0.1),
    memoryGb: z.number().positive().default(0.5),
    gpuCores: z.number().int().min(0).default(0),
    /** Name of the GPU pool to run on when gpuCores > 0; default: the first pool. */
    gpuPool: z.string().optional(),
    /**
     * With gpuCores > 0: run on the node's CPU when no CUDA device or provider is usable, with a
     * warning. Default false: such a replica fails with the reason, instead of silently paying
     * for a GPU it does not use.
     */
    gpuFallbackToCpu: z.boolean().default(false),
    authEnabled: z.boolean().optional(),
    tokenAuthEnabled: z.boolean().default(false),
    autoscaleEnabled: z.boolean().optional(),
    autoscaleMinReplicas: positiveInt.default(1),
    autoscaleMaxReplicas: positiveInt.default(10),
    autoscaleTargetUtilization: z.number().int().min(1).max(100).default(70),
    /** Fixed replica count; only without autoscaling. */
    numReplicas: positiveInt.optional(),
    replicaMaxConcurrentRequests: positiveInt.default(1),
    maxRequestWaitTimeMs: positiveInt.default(500),
    scoringTimeoutMs: positiveInt.default(DEFAULT_SCORING_TIMEOUT_MS),
    collectModelData: z.boolean().default(false),
    /**
     * Azure ML v1's `appInsightsEnabled`: the service's replicas get the connection string of the
     * environment's Application Insights resource (one per environment, workspace-based on its
     * Log Analytics workspace) as a secret environment variable. Default off, as in v1.
     */
    appInsightsEnabled: z.boolean().default(false),
    /**
     * Key auth: the primary and secondary key the service answers to, instead of generated ones
     * (a migrated Azure ML v1 service keeps the keys its clients hold). Pulumi secrets in the
     * stack file (`pulumi config set --secret --path`, or `aks-inference import-v1`), never plain
     * text; the key Secret is created with them.
     */
    keys: z
      .object({
        primaryKey: z.string().regex(/^[\x21-\x7e]{1,256}$/, { message: "must be 1-256 visible ASCII characters (a key is sent in the Authorization header)" }),
        secondaryKey: z.string().regex(/^[\x21-\x7e]{1,256}$/, { message: "must be 1-256 visible ASCII characters (a key is sent in the Authorization header)" }),
      })
      .strict()
      .optional(),
    /**
     * Versions behind the service's one scoring URI, each a Deployment of its own: `name`,
     * `traffic` (integer percent of live requests; the versions' shares sum to 100) or
     * `mirrorPercent` (one version at most, 0-50: a copy of that share of requests), and any of
     * VERSION_SETTINGS, which default to the service's own. Absent: one implicit version.
     */
    versions: z
      .array(z.object({ name: z.string(), traffic: z.number().optional(), mirrorPercent: z.number().optional() }).catchall(z.unknown()))
      .optional(),
  })
  .strict();

/** The settings a version may set for itself; the rest (name, auth, data collection) belong to the service. */
export const VERSION_SETTINGS = [
  "models",
  "sourceDirectory",
  "entryScript",
  "environment",
  "cpuCores",
  "memoryGb",
  "gpuCores",
  "gpuPool",
  "gpuFallbackToCpu",
  "autoscaleEnabled",
  "autoscaleMinReplicas",
  "autoscaleMaxReplicas",
  "autoscaleTargetUtilization",
  "numReplicas",
  "replicaMaxConcurrentRequests",
  "maxRequestWaitTimeMs",
  "scoringTimeoutMs",
] as const;

const requiredHostsSchema = z
  .object({
    /**
     * Also allow `api.azureml.ms` and `ingest-vienna<region>.kusto.windows.net`: hosts Microsoft's
     * own router (azureml-fe) calls, which this project's router does not. Default off.
     */
    azureMlCompat: z.boolean().default(false),
  })
  .strict();

/**
 * The weekly planned maintenance window of both auto-upgrade schedules (`aksManagedAutoUpgradeSchedule`,
 * `aksManagedNodeOSUpgradeSchedule`; Microsoft's "Use Planned Maintenance to schedule and control
 * upgrades for your AKS cluster"): AKS takes 4 to 24 hours.
 */
const maintenanceWindowSchema = z
  .object({
    dayOfWeek: z.enum(WEEK_DAYS).default("Sunday"),
    /** Start, in the window's utcOffset. */
    startTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: "must be a time from '00:00' to '23:59' (HH:mm)" }).default("00:00"),
    durationHours: z.number().int().min(4, { message: "must be at least 4 (AKS's shortest maintenance window)" }).max(24, { message: "must be at most 24" }).default(4),
    utcOffset: z.string().regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, { message: "must be an offset such as '+01:00' or '-07:00'" }).default("+00:00"),
  })
  .strict();

const upgradesSchema = z
  .object({
    /** Cluster auto-upgrade channel; default by purpose (core/purpose.ts). */
    channel: z.enum(UPGRADE_CHANNELS).optional(),
    /** Node OS upgrade channel; default by purpose (core/purpose.ts). */
    nodeOsChannel: z.enum(NODE_OS_UPGRADE_CHANNELS).optional(),
    maintenanceWindow: maintenanceWindowSchema.default(maintenanceWindowSchema.parse({})),
  })
  .strict();

/**
 * Azure Monitor for the cluster. `prometheus` and `containerInsights` default by purpose (on
 * outside DevTest, core/purpose.ts); Grafana is an optional extra.
 */
const monitoringSchema = z
  .object({
    /** Azure Monitor managed service for Prometheus: an Azure Monitor workspace, the cluster's metrics add-on and the stack's Prometheus alert rules. */
    prometheus: z.boolean().optional(),
    /** Container Insights: container stdout/stderr (ContainerLogV2) and Kubernetes events in the Log Analytics workspace, kept after the pod is gone. */
    containerInsights: z.boolean().optional(),
    /** An Azure Managed Grafana instance reading the Azure Monitor workspace (needs `prometheus`). */
    grafana: z.boolean().default(false),
  })
  .strict();

/** Who runs `pulumi up`, as its own role assignments (blob uploads) must name it. */
const deployerSchema = z
  .object({
    /** User, ServicePrincipal or Group; default: from the deployer's ARM access token's claims (core/identity.ts). */
    principalType: z.enum(DEPLOYER_PRINCIPAL_TYPES).optional(),
  })
  .strict();

/**
 * Who may reach the cluster's API server (Microsoft: "Secure access to the API server using
 * authorized IP address ranges in Azure Kubernetes Service (AKS)",
 * https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges: CIDRs, at most 200,
 * not with private clusters; and "Create a private Azure Kubernetes Service (AKS) cluster",
 * https://learn.microsoft.com/azure/aks/private-clusters). Unset: public, unrestricted.
 */
const authorizedRange = z.string().refine(
  (v) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
  },
  { message: "must be an IPv4 CIDR such as '203.0.113.0/24'" },
);
const apiServerSchema = z
  .object({
    /** IPv4 CIDRs allowed to reach the public API server (the deployer's runner among them). */
    authorizedIpRanges: z
      .array(authorizedRange)
      .min(1, { message: "list at least one range, or leave the key out (no restriction)" })
      .max(200, { message: "at most 200 ranges (AKS's limit)" })
      .optional(),
    /** A private API server (Azure CNI only), reached from the VNet and networks peered with it. */
    private: z.boolean().default(false),
  })
  .strict();

/**
 * Who else reaches the cluster's Kubernetes API, by Microsoft Entra group (Microsoft: "Use Azure
 * role-based access control for Kubernetes Authorization"): the deploying identity is granted
 * Azure Kubernetes Service RBAC Cluster Admin by the stack itself.
 */
const accessSchema = z
  .object({
    /**
     * Object ID of the on-call engineers' Entra group: granted Azure Kubernetes Service RBAC
     * Writer on the stack's namespace (state, logs, keys and their rotation) and Cluster User
     * Role (to fetch the kubeconfig) on the cluster. Unset: none.
     */
    onCallGroupObjectId: z
      .string()
      .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
        message: "must be the group's object ID, a GUID such as '00000000-0000-0000-0000-000000000000' (az ad group show --group <name> --query id -o tsv)",
      })
      .optional(),
  })
  .strict();

const stackSchema = z
  .object({
    location: z.string().min(1, { message: "is required (e.g. 'westeurope')" }),
    namePrefix: z.string().regex(/^[a-z][a-z0-9]{1,9}$/, { message: "must be 2-10 lowercase letters and digits, starting with a letter" }).default("aksinf"),
    clusterName: dnsLabel(40).optional(),
    resourceGroupName: z.string().min(1).max(90).optional(),
    clusterPurpose: z.enum(CLUSTER_PURPOSES).default("DevTest"),
    kubernetesVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, { message: "must be a version such as '1.33'" }).optional(),
    network: networkSchema.default(networkSchema.parse({})),
    egress: z.enum(EGRESS_MODES).default("loadBalancer"),
    firewall: firewallSchema.optional(),
    systemPool: poolSchema.default({}),
    gpuPools: z.array(gpuPoolSchema).default([]),
    /** ACR name (5-50 letters and digits, globally unique); default derived from prefix and stack. */
    registryName: z.string().regex(/^[a-zA-Z0-9]{5,50}$/, { message: "must be 5-50 letters and digits" }).optional(),
    /** Storage account name (3-24 lowercase letters and digits, globally unique); default derived. */
    storageAccountName: z.string().regex(/^[a-z0-9]{3,24}$/, { message: "must be 3-24 lowercase letters and digits" }).optional(),
    /** Microsoft Defender for Containers; default on except for DevTest. */
    defender: z.boolean().optional(),
    namespace: dnsLabel(63).default(DEFAULT_NAMESPACE),
    endpoint: endpointSchema.default({}),
    dns: dnsSchema.default({ privateZones: [], records: [] }),
    tokenIssuer: tokenIssuerSchema.default(tokenIssuerSchema.parse({})),
    router: routerSchema.default(routerSchema.parse({})),
    services: z.array(serviceSchema).default([]),
    requiredHosts: requiredHostsSchema.default(requiredHostsSchema.parse({})),
    upgrades: upgradesSchema.default(upgradesSchema.parse({})),
    deployer: deployerSchema.default({}),
    apiServer: apiServerSchema.default(apiServerSchema.parse({})),
    access: accessSchema.default({}),
    monitoring: monitoringSchema.default(monitoringSchema.parse({})),
  })
  .strict();

/**
 * Whether the stack schema holds a plain string at config key `name` (under the namespace) and
 * `path` within it: `--set kubernetesVersion=1.36` is then that string, not the number 1.36.
 */
export function schemaHoldsString(name: string, path: readonly (string | number)[] = []): boolean {
  let at: unknown = stackSchema.shape[name as keyof typeof stackSchema.shape];
  for (let i = 0; ; i++) {
    while (at instanceof z.ZodOptional || at instanceof z.ZodDefault || at instanceof z.ZodNullable) at = at.unwrap();
    if (i === path.length) return at instanceof z.ZodString;
    const step = path[i];
    if (at instanceof z.ZodObject && typeof step === "string") at = (at.shape as Record<string, unknown>)[step];
    else if (at instanceof z.ZodArray && typeof step === "number") at = at.element;
    else return false;
  }
}

type ParsedStack = z.infer<typeof stackSchema>;
type ParsedService = z.infer<typeof serviceSchema>;

export interface ModelRef {
  name: string;
  path: string;
  version: number;
}

/** A model service with every default applied and auth / replicas resolved. */
export interface ModelServiceConfig extends Omit<ParsedService, "models" | "authEnabled" | "autoscaleEnabled" | "numReplicas" | "versions"> {
  models: ModelRef[];
  authMode: AuthMode;
  autoscaleEnabled: boolean;
  /** Replicas at deploy time: numReplicas without autoscale, else autoscaleMinReplicas. */
  initialReplicas: number;
  /**
   * The declared versions, each with its own settings resolved (the service's fields above are
   * then only their defaults); absent for a service with one implicit version (see versionsOf).
   */
  versions?: ModelVersionConfig[];
}

/** One version of a service: the service's settings as this version overrides them. */
export interface ModelVersionConfig extends Omit<ModelServiceConfig, "versions"> {
  version: string;
  /** Percent of live requests. */
  traffic: number;
  /** Percent of requests copied to this version (the mirror), 0 for the others. */
  mirrorPercent: number;
}

/**
 * The egress firewall, resolved: the hub's (the stack adds a rule collection group to its policy)
 * or one the stack creates in the resource group of the VNet holding its AzureFirewallSubnet.
 */
export type FirewallConfig =
  | { kind: "hub"; policyId: string; privateIp: string; publicIp: string; priority: number }
  | { kind: "created"; publicIpCount: number; priority: number };

export interface StackConfig extends Omit<ParsedStack, "services" | "clusterName" | "resourceGroupName" | "registryName" | "storageAccountName" | "defender" | "router" | "systemPool" | "firewall" | "network" | "upgrades" | "monitoring"> {
  /** The service range resolved: given (required with Azure CNI), or kubenet's defaults. */
  network: ParsedStack["network"] & { serviceCidr: string; dnsServiceIp: string };
  stack: string;
  /** With egress 'firewall'. */
  firewall?: FirewallConfig;
  clusterName: string;
  resourceGroupName: string;
  registryName: string;
  storageAccountName: string;
  defender: boolean;
  systemPool: { vmSize: string; count: number; minCount?: number; maxCount?: number };
  router: ParsedStack["router"] & { replicas: number; selfScaling: boolean };
  services: ModelServiceConfig[];
  /** Channels resolved (given, or the purpose's) and the weekly maintenance window. */
  upgrades: { channel: UpgradeChannel; nodeOsChannel: NodeOsUpgradeChannel; maintenanceWindow: z.infer<typeof maintenanceWindowSchema> };
  /** Azure Monitor, defaults resolved (given, or the purpose's). */
  monitoring: { prometheus: boolean; containerInsights: boolean; grafana: boolean };
}

function modelName(path: string): string {
  const base = path.replace(/\/+$/, "").split("/").pop() ?? path;
  return base.replace(/\.[^.]+$/, "").toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

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

/** `services[0].cpuCores` → `aks-inference:services[0].cpuCores`. */
function keyOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return CONFIG_NAMESPACE;
  if (path[0] === "location") return LOCATION_KEY;
  let key = `${CONFIG_NAMESPACE}:${String(path[0])}`;
  for (const p of path.slice(1)) key += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return key;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => `${keyOf([...issue.path, k])}: unknown key (check its spelling against the config reference)`);
  }
  if (issue.code === "invalid_value") {
    return [`${keyOf(issue.path)}: must be one of ${issue.values.map((v) => `'${String(v)}'`).join(", ")}`];
  }
  return [`${keyOf(issue.path)}: ${issue.message}`];
}

/**
 * Node autoscaling of a pool, the same rule for the system pool and GPU pools: AKS's cluster
 * autoscaler needs both bounds (one alone was accepted and silently did not autoscale), the
 * lower at most the upper.
 */
function poolScalingProblems(p: { minCount?: number; maxCount?: number }): [string[], string][] {
  if ((p.minCount === undefined) !== (p.maxCount === undefined)) return [[[], "set both minCount and maxCount (the node autoscaler needs both), or neither"]];
  if (p.minCount !== undefined && p.maxCount !== undefined && p.minCount > p.maxCount) return [[["minCount"], "must be at most maxCount"]];
  return [];
}

/** Whether a service's entry script is Python (served through Python workers). */
export function isPythonEntryScript(entryScript: string | undefined): boolean {
  return entryScript !== undefined && entryScript.endsWith(".py");
}

/** The conda file's `python=3.x` pin, if any (`- python=3.8`, `- python==3.8.10`, `- python 3.8`). */
export function condaPythonVersion(condaYaml: string): string | undefined {
  return /^\s*-\s*python\s*(?:={1,2}|\s)\s*(3\.\d{1,2}(?:\.\d{1,2})?)/m.exec(condaYaml)?.[1];
}

/** Environment keys that do not fit the entry script's language, as [key, message] pairs. */
function environmentProblems(entryScript: string | undefined, env: z.infer<typeof environmentSchema>): [string, string][] {
  const out: [string, string][] = [];
  const python = isPythonEntryScript(entryScript);
  const pythonOnly = ["condaFile", "pipRequirements", "pythonVersion", "python"] as const;
  if (!python) {
    for (const k of pythonOnly) if (env[k] !== undefined) out.push([k, "is only for Python entry scripts (entryScript ending in .py)"]);
  } else if (env.dependencies !== undefined) {
    out.push(["dependencies", "is a package.json for JavaScript entry scripts; a Python environment takes condaFile or pipRequirements"]);
  }
  if (env.condaFile !== undefined && env.pipRequirements !== undefined) {
    out.push(["pipRequirements", "cannot be set with condaFile; list pip packages under the conda file's `- pip:` section"]);
  }
  return out;
}

/**
 * Validates and defaults a stack's raw config (`{ "aks-inference:clusterPurpose": "DevTest", ... }`,
 * object values already parsed from YAML/JSON). Throws ConfigError listing every problem.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string): StackConfig {
  const result = stackSchema.safeParse(projectValues(raw));
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(describeIssue));
  const c = result.data;
  const problems: string[] = [];
  const problem = (path: PropertyKey[], message: string) => problems.push(`${keyOf(path)}: ${message}`);
  const d = purposeProfile(c.clusterPurpose);

  if (c.network.plugin === "azure") {
    if (!c.network.subnetId) problem(["network", "subnetId"], "is required when network.plugin is 'azure' (CNI joins an existing subnet)");
    // The service range is cluster-internal but must not collide with anything pods reach: with
    // CNI that is the network team's VNet and the hub peered with it, which this stack cannot see.
    const why = `the default ${DEFAULT_SERVICE_CIDR} overlaps the address ranges hub networks typically use (README, "Config reference")`;
    if (!c.network.serviceCidr) problem(["network", "serviceCidr"], `is required when network.plugin is 'azure': a range for Kubernetes Services that overlaps neither the VNet, its peered networks nor network.podCidr; ${why}`);
    if (!c.network.dnsServiceIp) problem(["network", "dnsServiceIp"], `is required when network.plugin is 'azure': an address inside network.serviceCidr (not its first), such as its '.10'; ${why}`);
    if (c.egress === "firewall") {
      if (!c.network.routeTableId) {
        problem(["network", "routeTableId"], "is required when network.plugin is 'azure' and egress is 'firewall': the existing route table the network team associated with network.subnetId");
      }
      if (!c.firewall?.policyId && !c.network.firewallSubnetId) {
        problem(["firewall", "policyId"], "or network.firewallSubnetId is required when network.plugin is 'azure' and egress is 'firewall': the hub's firewall policy, or the AzureFirewallSubnet for a firewall this stack creates");
      }
    } else if (c.network.routeTableId) {
      problem(["network", "routeTableId"], "is only allowed with egress 'firewall' (load-balancer egress needs no route table)");
    }
  } else {
    if (c.network.subnetId) problem(["network", "subnetId"], "is only allowed with network.plugin 'azure'; kubenet creates its own subnet");
    if (c.network.firewallSubnetId) problem(["network", "firewallSubnetId"], "is only allowed with network.plugin 'azure'");
    if (c.network.routeTableId) problem(["network", "routeTableId"], "is only allowed with network.plugin 'azure'; kubenet creates its own route table");
    if (c.firewall?.policyId) problem(["firewall", "policyId"], "needs network.plugin 'azure': kubenet's VNet is created by this stack and not peered with a hub");
  }
  if (c.network.firewallSubnetId && !/\/subnets\/AzureFirewallSubnet$/.test(c.network.firewallSubnetId)) {
    problem(["network", "firewallSubnetId"], "must name a subnet called 'AzureFirewallSubnet' (Azure Firewall requires it)");
  }
  if (c.firewall && c.egress !== "firewall") problem(["firewall"], "is only allowed with egress 'firewall'");
  if (c.firewall?.policyId) {
    if (c.network.firewallSubnetId) problem(["network", "firewallSubnetId"], "cannot be set with firewall.policyId: use the hub's firewall, or create one, not both");
    if (!c.firewall.privateIp) problem(["firewall", "privateIp"], "is required with firewall.policyId: the hub firewall's private IP, the next hop of the route table's 0.0.0.0/0 route");
    if (!c.firewall.publicIp) problem(["firewall", "publicIp"], "is required with firewall.policyId: the hub firewall's public IP that DNATs to the router");
    if (c.firewall.publicIpCount !== undefined) problem(["firewall", "publicIpCount"], "applies to a firewall this stack creates, not to the hub's (firewall.policyId)");
    if (!c.endpoint.customDomain) problem(["endpoint", "customDomain"], "is required with a hub firewall (firewall.policyId): its public IP carries no cloudapp.azure.com name of this stack");
  } else if (c.firewall?.privateIp || c.firewall?.publicIp) {
    problem(["firewall", c.firewall.privateIp ? "privateIp" : "publicIp"], "only applies with firewall.policyId (an existing hub firewall); a stack-created firewall's IPs come from Azure");
  }
  if (c.egress === "firewall") {
    if (!c.endpoint.internalIp) {
      problem(["endpoint", "internalIp"], "is required with egress 'firewall': the router's internal load balancer IP in the node subnet, the target of the firewall's DNAT rule");
    } else if (c.network.plugin === "kubenet" && !usableInSubnet(c.network.nodeSubnetPrefix, c.endpoint.internalIp)) {
      problem(["endpoint", "internalIp"], `must be a usable address of network.nodeSubnetPrefix ${c.network.nodeSubnetPrefix} (Azure reserves the first four and the last)`);
    }
  } else if (c.endpoint.internalIp) {
    problem(["endpoint", "internalIp"], "is only used with egress 'firewall' (the router is then reached through the firewall's DNAT)");
  }
  if (c.network.plugin === "kubenet" && cidrsOverlap(c.network.podCidr, c.network.vnetAddressSpace)) {
    problem(["network", "podCidr"], `must not overlap network.vnetAddressSpace ${c.network.vnetAddressSpace}`);
  }
  const pool = c.systemPool;
  poolScalingProblems(pool).forEach(([key, message]) => problem(["systemPool", ...key], message));

  const poolNames = new Set<string>();
  c.gpuPools.forEach((p, i) => {
    if (poolNames.has(p.name) || p.name === "system") problem(["gpuPools", i, "name"], `'${p.name}' is used twice (or is 'system'); pool names must be unique`);
    poolNames.add(p.name);
    poolScalingProblems(p).forEach(([key, message]) => problem(["gpuPools", i, ...key], message));
  });

  const tls = c.endpoint.tls;
  if (tls?.secretName) {
    // The router's namespace is created by this stack in the same run, so a Secret created by
    // hand cannot exist before the first `pulumi up`, and the first preview has no cluster to
    // look it up in: the router pods would wait for it forever. Refused rather than half-checked.
    problem(
      ["endpoint", "tls", "secretName"],
      "is not supported: the stack creates the router's namespace, so a Secret it does not create cannot exist when the router starts. Use endpoint.tls.keyVault (certificate in Azure Key Vault) or certificate and privateKey (pulumi config set --secret --path)",
    );
  } else if (tls) {
    const fromConfig = Boolean(tls.certificate) || Boolean(tls.privateKey);
    if (fromConfig && tls.keyVault) problem(["endpoint", "tls"], "set keyVault, or certificate and privateKey, not both");
    else if (fromConfig && !(tls.certificate && tls.privateKey)) problem(["endpoint", "tls"], "certificate and privateKey go together (both as secrets)");
    else if (!fromConfig && !tls.keyVault) problem(["endpoint", "tls"], "set keyVault { id, certificateName }, or certificate and privateKey (as secrets)");
    const kv = tls.keyVault;
    if (kv?.id && (kv.name || kv.resourceGroupName)) problem(["endpoint", "tls", "keyVault"], "set id (the vault's resource ID), or the older name and resourceGroupName, not both");
    else if (kv && !kv.id && !kv.name && !kv.resourceGroupName) problem(["endpoint", "tls", "keyVault", "id"], `is required: the vault's resource ID, ${KEY_VAULT_ID_FORM} (any subscription of the tenant)`);
    else if (kv && !kv.id && !(kv.name && kv.resourceGroupName)) problem(["endpoint", "tls", "keyVault"], "name and resourceGroupName go together (a vault in the stack's subscription); prefer id, the vault's resource ID");
    else if (kv?.id) {
      const { name } = parseTopLevelId(kv.id, "vaults");
      if (!KEY_VAULT_NAME.test(name)) problem(["endpoint", "tls", "keyVault", "id"], `'${name}' ${KEY_VAULT_NAME_MESSAGE}`);
    }
  }
  // Microsoft: "Secure access to the API server using authorized IP address ranges in AKS" (not
  // with private clusters); "Create a private AKS cluster": reached from the cluster's VNet and
  // its peerings, which kubenet's stack-created VNet has none of.
  if (c.apiServer.private && c.network.plugin !== "azure") {
    problem(["apiServer", "private"], "needs network.plugin 'azure': a private API server is only reachable from the cluster's VNet and networks peered with it, and kubenet's VNet is created by this stack and peered with nothing (no runner could deploy)");
  }
  if (c.apiServer.private && c.apiServer.authorizedIpRanges) {
    problem(["apiServer", "authorizedIpRanges"], "cannot be set with apiServer.private: AKS does not support authorized IP ranges on private clusters");
  }
  if (c.endpoint.dnsZone && !c.endpoint.customDomain) problem(["endpoint", "dnsZone"], "needs endpoint.customDomain");
  if (c.endpoint.customDomain && c.endpoint.dnsZone && !c.endpoint.customDomain.endsWith(`.${c.endpoint.dnsZone.zoneName}`)) {
    problem(["endpoint", "customDomain"], `must be inside endpoint.dnsZone.zoneName '${c.endpoint.dnsZone.zoneName}'`);
  }
  c.dns.records.forEach((r, i) => {
    if (!c.dns.privateZones.includes(r.zone)) problem(["dns", "records", i, "zone"], `'${r.zone}' is not one of dns.privateZones`);
  });
  if (c.tokenIssuer.type === "oidc" && (!c.tokenIssuer.issuer || !c.tokenIssuer.jwksUri)) {
    problem(["tokenIssuer"], "type 'oidc' needs issuer and jwksUri");
  }
  if (c.tokenIssuer.ttlSeconds > c.tokenIssuer.maxLifetimeSeconds) {
    problem(["tokenIssuer", "ttlSeconds"], `must be at most tokenIssuer.maxLifetimeSeconds (${c.tokenIssuer.maxLifetimeSeconds}): the router refuses longer-lived tokens`);
  }

  const names = new Set<string>();
  const services: ModelServiceConfig[] = c.services.map((s, i) => {
    if (names.has(s.name)) problem(["services", i, "name"], `'${s.name}' is used twice; service names must be unique`);
    names.add(s.name);
    if (s.tokenAuthEnabled && s.authEnabled === true) {
      problem(["services", i, "tokenAuthEnabled"], "key auth (authEnabled) and token auth cannot both be on; set authEnabled: false");
    }
    if (s.keys && (s.tokenAuthEnabled || s.authEnabled === false)) {
      problem(["services", i, "keys"], "is only for key auth: a service with authEnabled false or tokenAuthEnabled has no keys");
    }
    const { versions: rawVersions, ...base } = s;
    if (!rawVersions) return resolveService(base, ["services", i], problem, c.gpuPools);
    // A versioned service's own settings are only its versions' defaults: each version is
    // checked whole (its settings over the service's), not the service alone.
    const versions = rawVersions.flatMap((raw, j): ModelVersionConfig[] => {
      const at = ["services", i, "versions", j];
      const { name, traffic, mirrorPercent, ...overrides } = raw;
      const misplaced = Object.keys(overrides).filter((k) => !(VERSION_SETTINGS as readonly string[]).includes(k));
      misplaced.forEach((k) =>
        problem([...at, k], k in serviceSchema.shape ? `belongs to the service, not to a version (a version sets ${VERSION_SETTINGS.join(", ")})` : "unknown key (check its spelling against the config reference)"),
      );
      if (misplaced.length) return [];
      const parsed = serviceSchema.safeParse({ ...base, ...overrides });
      if (!parsed.success) {
        // An issue in a value the version set is the version's; one it inherited is the service's.
        for (const issue of parsed.error.issues) describeIssue({ ...issue, path: [...(String(issue.path[0]) in overrides ? at : ["services", i]), ...issue.path] }).forEach((m) => problems.push(m));
        return [];
      }
      const { versions: _none, ...settings } = parsed.data;
      return [{ ...resolveService(settings, at, problem, c.gpuPools), version: name, traffic: traffic ?? 0, mirrorPercent: mirrorPercent ?? 0 }];
    });
    splitProblems(s.name, rawVersions).forEach(([key, message]) => problem(["services", i, "versions", ...key], message));
    return { ...resolveService(base, ["services", i], () => undefined, c.gpuPools), versions };
  });
  // One Deployment and Service per version, named after service and version: 'fraud' version
  // 'blue' and a service 'fraud-blue' would share theirs.
  const objectNames = new Map<string, string>();
  services.forEach((svc, i) =>
    (svc.versions ?? [undefined]).forEach((v, j) => {
      const name = modelDeploymentName(svc.name, v?.version);
      const what = v ? `'${svc.name}' version '${v.version}'` : `service '${svc.name}'`;
      const other = objectNames.get(name);
      if (other) problem(v ? ["services", i, "versions", j, "name"] : ["services", i, "name"], `the Deployment and Service of ${what} would be named '${name}', as those of ${other}`);
      else objectNames.set(name, what);
    }),
  );
  // An auto-upgrade channel moves the cluster's version itself: it must not move it away from
  // the one kubernetesVersion pins (the next `pulumi up` would try to downgrade it).
  const upgradeChannel = c.upgrades.channel ?? d.upgradeChannel;
  if (c.kubernetesVersion && upgradeChannel !== "none") {
    const minor = c.kubernetesVersion.split(".").slice(0, 2).join(".");
    if (upgradeChannel !== "patch") {
      problem(["upgrades", "channel"], `'${upgradeChannel}' moves the minor version on its own, away from kubernetesVersion '${c.kubernetesVersion}': use 'patch' (minor versions then move with kubernetesVersion), or remove kubernetesVersion`);
    } else if (minor !== c.kubernetesVersion) {
      problem(["kubernetesVersion"], `'${c.kubernetesVersion}' pins a patch version, which upgrades.channel 'patch' moves on its own: set the minor version ('${minor}'), or upgrades.channel 'none'`);
    }
  }
  const monitoring = { prometheus: c.monitoring.prometheus ?? d.prometheus, containerInsights: c.monitoring.containerInsights ?? d.containerInsights, grafana: c.monitoring.grafana };
  // Managed Grafana's data source is the Azure Monitor workspace, which only prometheus creates.
  if (monitoring.grafana && !monitoring.prometheus) problem(["monitoring", "grafana"], "needs monitoring.prometheus: Grafana reads the Azure Monitor workspace that managed Prometheus creates");
  // A value several versions inherit is reported once, at the service.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);

  const clusterName = c.clusterName ?? `${c.namePrefix}-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const compact = `${c.namePrefix}${stack}`.toLowerCase().replace(/[^a-z0-9]/g, "");
  return {
    ...c,
    network: { ...c.network, serviceCidr: c.network.serviceCidr ?? DEFAULT_SERVICE_CIDR, dnsServiceIp: c.network.dnsServiceIp ?? DEFAULT_DNS_SERVICE_IP },
    stack,
    clusterName,
    resourceGroupName: c.resourceGroupName ?? `rg-${clusterName}`,
    registryName: c.registryName ?? `${compact}acr`.slice(0, 50).padEnd(5, "0"),
    storageAccountName: c.storageAccountName ?? `${compact}st`.slice(0, 24).padEnd(3, "0"),
    defender: c.defender ?? d.defender,
    firewall: resolveFirewall(c),
    systemPool: { ...pool, vmSize: pool.vmSize ?? d.systemVmSize, count: pool.count ?? pool.minCount ?? d.systemCount },
    router: { ...c.router, replicas: c.router.replicas ?? d.routerReplicas, selfScaling: c.router.selfScaling ?? d.selfScaling },
    services,
    upgrades: { ...c.upgrades, channel: upgradeChannel, nodeOsChannel: c.upgrades.nodeOsChannel ?? d.nodeOsUpgradeChannel },
    monitoring,
  };
}

/**
 * One service's (or one version's) settings with defaults resolved, its problems reported at
 * `at`: auth mode, replicas, models, entry script and environment, GPU pool.
 */
function resolveService(
  s: Omit<ParsedService, "versions">,
  at: PropertyKey[],
  problem: (path: PropertyKey[], message: string) => void,
  gpuPools: ParsedStack["gpuPools"],
): Omit<ModelServiceConfig, "versions"> {
  const authMode: AuthMode = s.tokenAuthEnabled ? "token" : s.authEnabled === false ? "none" : "key";
  if (s.autoscaleEnabled === true && s.numReplicas !== undefined) {
    problem([...at, "numReplicas"], "cannot be set with autoscaleEnabled: true; use autoscaleMinReplicas/autoscaleMaxReplicas");
  }
  const autoscaleEnabled = s.autoscaleEnabled ?? s.numReplicas === undefined;
  if (s.autoscaleMinReplicas > s.autoscaleMaxReplicas) problem([...at, "autoscaleMinReplicas"], "must be at most autoscaleMaxReplicas");
  if (s.entryScript && !s.sourceDirectory) problem([...at, "entryScript"], "needs sourceDirectory (the project folder that contains it)");
  environmentProblems(s.entryScript, s.environment).forEach(([key, message]) => problem([...at, "environment", key], message));
  const models: ModelRef[] = s.models.map((m) => (typeof m === "string" ? { name: modelName(m), path: m, version: 1 } : m));
  const modelNames = new Set<string>();
  models.forEach((m, j) => {
    if (modelNames.has(m.name)) problem([...at, "models", j], `model name '${m.name}' is used twice in this service; give one a { name, path }`);
    modelNames.add(m.name);
  });
  if (!s.entryScript && !models.some((m) => m.path.endsWith(".onnx"))) {
    problem([...at, "entryScript"], "is required unless the service has an .onnx model (served by the built-in ONNX handler)");
  }
  let gpuPool = s.gpuPool;
  if (s.gpuCores > 0) {
    if (gpuPools.length === 0) problem([...at, "gpuCores"], "needs a GPU pool: add one under gpuPools");
    gpuPool = s.gpuPool ?? gpuPools[0]?.name;
    const poolCfg = gpuPools.find((p) => p.name === gpuPool);
    if (gpuPools.length > 0 && !poolCfg) problem([...at, "gpuPool"], `must be one of ${gpuPools.map((p) => `'${p.name}'`).join(", ")}`);
    if (poolCfg && s.gpuCores > poolCfg.gpusPerNode) problem([...at, "gpuCores"], `${s.gpuCores} GPUs do not fit on one '${poolCfg.vmSize}' node (${poolCfg.gpusPerNode} GPUs)`);
  } else if (s.gpuPool) {
    problem([...at, "gpuPool"], "is only allowed with gpuCores > 0");
  }
  if (s.gpuCores === 0 && s.gpuFallbackToCpu) problem([...at, "gpuFallbackToCpu"], "is only allowed with gpuCores > 0 (a CPU service has no GPU to fall back from)");
  const { authEnabled: _a, autoscaleEnabled: _b, numReplicas, ...rest } = s;
  return {
    ...rest,
    gpuPool,
    models,
    authMode,
    autoscaleEnabled,
    initialReplicas: autoscaleEnabled ? s.autoscaleMinReplicas : (numReplicas ?? 1),
  };
}

/** A service's versions: the declared ones, or its one implicit version taking all traffic. */
export function versionsOf(svc: ModelServiceConfig): ModelVersionConfig[] {
  if (svc.versions) return svc.versions;
  const { versions: _none, ...settings } = svc;
  return [{ ...settings, version: IMPLICIT_VERSION, traffic: 100, mirrorPercent: 0 }];
}

/** Each version of a service with its unit key (core/versions.ts), as the router and local mode key them. */
export function unitsOf(svc: ModelServiceConfig): { unit: string; version: ModelVersionConfig }[] {
  return versionsOf(svc).map((version) => ({ unit: unitOf(svc.name, svc.versions ? version.version : undefined), version }));
}

function resolveFirewall(c: ParsedStack): FirewallConfig | undefined {
  if (c.egress !== "firewall") return undefined;
  const f = firewallSchema.parse(c.firewall ?? {});
  if (f.policyId && f.privateIp && f.publicIp) return { kind: "hub", policyId: f.policyId, privateIp: f.privateIp, publicIp: f.publicIp, priority: f.priority };
  return { kind: "created", publicIpCount: f.publicIpCount ?? purposeProfile(c.clusterPurpose).firewallPublicIps, priority: f.priority };
}

/**
 * The `cloudapp.azure.com` label of the endpoint's public IP, none with a custom domain. The
 * default label is tenant-scoped (`domainNameLabelScope: TenantReuse`): Azure adds a hash, and
 * the FQDN is only known from the IP once it exists (the stack's `scoringHost` output).
 */
export function endpointDnsLabel(c: Pick<StackConfig, "endpoint" | "clusterName">): { label: string; scope?: "TenantReuse" } | undefined {
  if (c.endpoint.customDomain) return undefined;
  return c.endpoint.dnsLabel ? { label: c.endpoint.dnsLabel } : { label: c.clusterName, scope: "TenantReuse" };
}

/**
 * The DNS name clients call, as far as config knows it: the custom domain, else
 * `<label>.<region>.cloudapp.azure.com`. With the default tenant-scoped label Azure inserts a
 * hash after the label; the deployed stack reports the real name (`scoringHost` output).
 */
export function scoringHost(c: Pick<StackConfig, "endpoint" | "clusterName" | "location">): string {
  return c.endpoint.customDomain ?? `${c.endpoint.dnsLabel ?? c.clusterName}.${c.location}.cloudapp.azure.com`;
}

/** The TLS Key Vault certificate, resolved: the vault's resource ID parsed, or the older name and group in the stack's subscription. */
export interface KeyVaultCertificate {
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  certificateName: string;
}

type KeyVaultConfig = NonNullable<NonNullable<StackConfig["endpoint"]["tls"]>["keyVault"]>;

/** The vault's name, from its resource ID (or the older name key). */
export function keyVaultName(keyVault: KeyVaultConfig): string {
  return keyVault.id ? parseTopLevelId(keyVault.id, "vaults").name : keyVault.name!;
}

/** `keyVault` of a validated config; `stackSubscriptionId` only serves the older name/resourceGroupName form. */
export function keyVaultOf(keyVault: KeyVaultConfig, stackSubscriptionId: string): KeyVaultCertificate {
  const { certificateName } = keyVault;
  if (keyVault.id) {
    const p = parseResourceId(keyVault.id)!;
    return { id: keyVault.id, subscriptionId: p.subscriptionId, resourceGroupName: p.resourceGroupName, name: p.path[1], certificateName };
  }
  const { name, resourceGroupName } = keyVault as { name: string; resourceGroupName: string };
  return { id: `/subscriptions/${stackSubscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.KeyVault/vaults/${name}`, subscriptionId: stackSubscriptionId, resourceGroupName, name, certificateName };
}

/** Whether the router terminates TLS (then the scoring URI is https). */
export function tlsEnabled(c: Pick<StackConfig, "endpoint">): boolean {
  return c.endpoint.tls !== undefined;
}

/** The v1 scoring URI of a service, as existing AML clients call it. */
export function scoringUri(c: Pick<StackConfig, "endpoint" | "clusterName" | "location">, service: string): string {
  return `${tlsEnabled(c) ? "https" : "http"}://${scoringHost(c)}/api/v1/service/${service}/score`;
}
