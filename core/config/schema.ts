/**
 * The stack configuration's shape: its keys, their types, ranges and per-key defaults (zod, with
 * the enumerations of enums.ts), and the types of a validated config. Rules that relate several
 * keys are in rules.ts; values computed from the config (names, URIs, purpose defaults) in
 * derived.ts.
 */
import { z } from "zod";
import { DEFAULT_NAMESPACE, DEFAULT_SCORING_TIMEOUT_MS } from "../contracts/naming";
import { ClusterPurpose, DeployerPrincipalType, DnsRecordType, EgressMode, NetworkPlugin, NodeOsUpgradeChannel, TokenIssuerType, UpgradeChannel, WeekDay } from "./enums";

/** Project config namespace: keys are `aks-inference:<key>` in `Pulumi.<stack>.yaml`. */
export const CONFIG_NAMESPACE = "aks-inference";
/** The Azure region comes from the provider's own key, as in every azure-native program. */
export const LOCATION_KEY = "azure-native:location";

/** Hard limits of Azure ML v1 AKS web services. */
export const MAX_MODELS_PER_DEPLOYMENT = 1000;
export const MAX_PAYLOAD_MB = 100;

/** kubenet's service range and cluster DNS address when not given (Azure CNI must give its own). */
export const DEFAULT_SERVICE_CIDR = "10.0.0.0/16";
export const DEFAULT_DNS_SERVICE_IP = "10.0.0.10";

export type AuthMode = "key" | "token" | "none";

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
    plugin: z.enum(NetworkPlugin).default("kubenet"),
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
export const firewallSchema = z
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
export const KEY_VAULT_ID_FORM = "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>";
/** Microsoft: "Naming rules and restrictions for Azure resources" (Microsoft.KeyVault vaults: 3-24 alphanumerics and hyphens, starting with a letter, no consecutive hyphens). */
export const KEY_VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
export const KEY_VAULT_NAME_MESSAGE = "must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter";

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
            type: z.enum(DnsRecordType),
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
    type: z.enum(TokenIssuerType).default("builtin"),
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
/** A service's (or version's) `environment`: what its image is built from. */
export type ServiceEnvironmentConfig = z.infer<typeof environmentSchema>;

/** A service's name: part of its scoring URI and of Kubernetes object names. */
export const serviceNameSchema = dnsLabel(32);

export const serviceSchema = z
  .object({
    name: serviceNameSchema,
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
    dayOfWeek: z.enum(WeekDay).default("Sunday"),
    /** Start, in the window's utcOffset. */
    startTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: "must be a time from '00:00' to '23:59' (HH:mm)" }).default("00:00"),
    durationHours: z.number().int().min(4, { message: "must be at least 4 (AKS's shortest maintenance window)" }).max(24, { message: "must be at most 24" }).default(4),
    utcOffset: z.string().regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, { message: "must be an offset such as '+01:00' or '-07:00'" }).default("+00:00"),
  })
  .strict();

const upgradesSchema = z
  .object({
    /** Cluster auto-upgrade channel; default by purpose (core/config/purpose.ts). */
    channel: z.enum(UpgradeChannel).optional(),
    /** Node OS upgrade channel; default by purpose (core/config/purpose.ts). */
    nodeOsChannel: z.enum(NodeOsUpgradeChannel).optional(),
    maintenanceWindow: maintenanceWindowSchema.default(maintenanceWindowSchema.parse({})),
  })
  .strict();

/**
 * Azure Monitor for the cluster. `prometheus` and `containerInsights` default by purpose (on
 * outside DevTest, core/config/purpose.ts); Grafana is an optional extra.
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
    /** User, ServicePrincipal or Group; default: from the deployer's ARM access token's claims (core/azure/identity.ts). */
    principalType: z.enum(DeployerPrincipalType).optional(),
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

/** The cluster's name, given or derived (its DNS prefix and node resource group are named after it). */
export const clusterNameSchema = dnsLabel(40);

export const stackSchema = z
  .object({
    location: z.string().min(1, { message: "is required (e.g. 'westeurope')" }),
    namePrefix: z.string().regex(/^[a-z][a-z0-9]{1,9}$/, { message: "must be 2-10 lowercase letters and digits, starting with a letter" }).default("aksinf"),
    clusterName: clusterNameSchema.optional(),
    resourceGroupName: z.string().min(1).max(90).optional(),
    clusterPurpose: z.enum(ClusterPurpose).default("DevTest"),
    kubernetesVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, { message: "must be a version such as '1.33'" }).optional(),
    network: networkSchema.default(networkSchema.parse({})),
    egress: z.enum(EgressMode).default("loadBalancer"),
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

export type ParsedStack = z.infer<typeof stackSchema>;
export type ParsedService = z.infer<typeof serviceSchema>;

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
