/**
 * `aks-inference import-v1`: an Azure ML v1 AKS web service (or AksEndpoint) as a service of this
 * stack. Pure: it takes what a team keeps or can still export of a v1 service, already read
 * (JSON documents parsed, the conda file and Python sources as text, the list of files), and
 * decides the service's stack entry, the files to copy into the project in Azure ML's layout,
 * the keys to store as secrets and, field by field, where each v1 setting went — or why it has no
 * equivalent here. A value that cannot be carried over (an unknown field, a value out of range, a
 * setting this project does not support) is refused with its file and field named, never dropped.
 * Reading folders, copying and writing the stack file is scripts/importV1.ts.
 *
 * The v1 formats, from their definitions:
 * - `deploymentconfig.json`: the v1 CLI's "deployment configuration schema" for AKS (Microsoft
 *   Learn, "Azure Machine Learning CLI (v1) reference", includes/machine-learning-service-aks-deploy-config.md),
 *   whose entries map to `AksWebservice.deploy_configuration` (azureml-core `webservice/aks.py`).
 * - `service.json`: `az ml service show -o json`, the SDK's `AksWebservice.serialize()` (or the
 *   model-management service object, `AKSServiceResponse` / `AKSEndpointResponse` of the
 *   modelManagement 2019-09-30 API): the same payload keys as `_build_create_payload`
 *   (`containerResourceRequirements.cpu/cpuLimit/memoryInGB/memoryInGBLimit/gpu`, `autoScaler`,
 *   `livenessProbeRequirements`, `aadAuthEnabled` for token auth, `versions` of an AksEndpoint).
 * - `inferenceconfig.json`: the "inference configuration schema" (`InferenceConfig`).
 * - `keys.json`: `az ml service get-keys -o json` (`AuthKeys`).
 * - `environment/azureml_environment.json` + `conda_dependencies.yml`: `az ml environment download`
 *   (`Environment.save_to_directory`).
 * - `models/<name>/<version>/`: `az ml model download -i <name>:<version> -t models/<name>/<version>`.
 * - `<service>.params.json`: the parameters file of Azure/azureml-examples
 *   `cli/endpoints/online/managed/migration/export-service-util.py` (ARM parameters of an online
 *   endpoint and its deployments: `onlineEndpointProperties` with `authMode` and `keys`,
 *   `onlineDeployments`, `onlineEndpointPropertiesTrafficUpdate`).
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { IMPLICIT_VERSION, isVersionName } from "../decisions/versions";
import { condaPythonVersion } from ".";
import type { EnvironmentService } from "./environmentArgs";
import { serviceNameSchema } from "./schema";

/** One v1 service as read from its folder. Paths are relative to the folder, with '/'. */
export interface V1Folder {
  /** The folder's name (the service's name unless a document names it). */
  name: string;
  /** Every file below the folder. */
  files: readonly string[];
  /** JSON files, parsed (those that did not parse are refused by the reader with their error). */
  json: Readonly<Record<string, unknown>>;
  /** Text of the conda files and Python sources (`.yml`, `.yaml`, `.py`, `.txt`) below the folder, models excepted. */
  text: Readonly<Record<string, string>>;
}

export interface ImportOptions {
  /** Folder of the project (relative to its root, '/') that imported services go below: `<out>/<service>/`. */
  out: string;
  /** The stack's Kubernetes namespace, which every service of the stack shares. */
  namespace: string;
}

export interface ModelEntry {
  name: string;
  path: string;
  version: number;
}

/** The settings a service or one of its versions takes from v1, as the stack config spells them. */
export type ServiceSettings = Pick<
  EnvironmentService,
  | "cpuCores"
  | "memoryGb"
  | "gpuCores"
  | "autoscaleEnabled"
  | "autoscaleMinReplicas"
  | "autoscaleMaxReplicas"
  | "autoscaleTargetUtilization"
  | "numReplicas"
  | "replicaMaxConcurrentRequests"
  | "maxRequestWaitTimeMs"
  | "scoringTimeoutMs"
> & { models?: ModelEntry[] };

/** A service's stack entry (`aks-inference:services[]`), without its keys (secrets, stored apart). */
export interface ServiceEntry extends ServiceSettings {
  name: string;
  sourceDirectory: string;
  entryScript: string;
  environment?: { condaFile?: string; baseImage?: string };
  authEnabled?: boolean;
  tokenAuthEnabled?: boolean;
  collectModelData?: boolean;
  appInsightsEnabled?: boolean;
  versions?: (ServiceSettings & { name: string; traffic?: number; mirrorPercent?: number })[];
}

/** One row of the mapping table: a v1 field, its value, and where it went. */
export interface MappingRow {
  /** `<file>: <field>` */
  from: string;
  /** The value, as text; `(secret)` for keys. */
  value: string;
  /** The stack key and value it became, or undefined when it has no equivalent. */
  to?: string;
  /** Why it has no equivalent, or what to know about the mapping. */
  note?: string;
}

export interface ImportPlan {
  service: ServiceEntry;
  /** Key auth with the v1 keys: stored as Pulumi secrets, never written or printed in plain text. */
  keys?: { primaryKey: string; secondaryKey: string };
  /** Files and folders to copy: `from` below the v1 folder, `to` below the project root. */
  copies: { from: string; to: string }[];
  /** Files to write (a conda file built from an inline environment definition). */
  writes: { to: string; text: string }[];
  rows: MappingRow[];
  /** Comment lines for the stack entry: the source, and every v1 setting with no equivalent. */
  comments: string[];
  /** What the user must know before deploying (an import that will not run as it is). */
  warnings: string[];
}

/** An import refused: every problem names its file and field. */
export class V1ImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`import refused:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "V1ImportError";
  }
}

/** Files of a v1 folder that describe the service: never copied into the project (keys.json holds the keys in plain text). */
export const DESCRIPTOR_FILES = ["deploymentconfig.json", "inferenceconfig.json", "service.json", "keys.json"] as const;
const PARAMS_FILE = /^[^/]+\.params\.json$/;
/** Folders of a v1 folder that are not the project's source. */
const NON_SOURCE_DIRS = ["models", "environment"];

/** The SDK's default `Environment()` sets this one variable; it means nothing to a script. */
const SDK_DEFAULT_ENV_VARS: Readonly<Record<string, string>> = { EXAMPLE_ENV_VAR: "EXAMPLE_VALUE" };
/** Variables Azure ML's inference server reads, which this project sets itself. */
const SERVER_ENV_VARS = ["AZUREML_ENTRY_SCRIPT", "AZUREML_MODEL_DIR", "AML_APP_ROOT", "AZUREML_SOURCE_DIRECTORY", "WORKER_COUNT", "SCORING_TIMEOUT_MS"];

// ---- Schemas: the documented fields, nothing else (an unknown one is refused, not dropped). ----

const num = z.number();
const int = z.number().int();
const str = z.string();
const strMap = z.record(z.string(), z.string().nullable());

const autoScalerSchema = z
  .object({
    autoscaleEnabled: z.boolean().nullish(),
    minReplicas: int.min(1).nullish(),
    maxReplicas: int.min(1).nullish(),
    refreshPeriodInSeconds: int.min(1).nullish(),
    targetUtilization: int.min(1).max(100).nullish(),
  })
  .strict();
const resourcesSchema = z
  .object({
    cpu: num.positive().nullish(),
    cpuLimit: num.positive().nullish(),
    memoryInGB: num.positive().nullish(),
    memoryInGBLimit: num.positive().nullish(),
    gpu: int.min(0).nullish(),
    fpga: int.min(0).nullish(),
  })
  .strict();
const livenessSchema = z
  .object({
    periodSeconds: int.min(1).nullish(),
    initialDelaySeconds: int.min(1).nullish(),
    timeoutSeconds: int.min(1).nullish(),
    successThreshold: int.min(1).nullish(),
    failureThreshold: int.min(1).nullish(),
  })
  .strict();
const keysSchema = z.object({ primaryKey: str.min(1), secondaryKey: str.min(1) }).strict();
const modelRefSchema = z.object({ name: str.min(1), version: z.union([int.min(1), z.string().regex(/^\d+$/)]) }).passthrough();

/** `AksWebservice.deploy_configuration` as JSON: the deployment configuration schema's AKS fields. */
const aksSettingsShape = {
  computeType: str.nullish(),
  autoScaler: autoScalerSchema.nullish(),
  dataCollection: z.object({ storageEnabled: z.boolean().nullish(), eventHubEnabled: z.boolean().nullish() }).strict().nullish(),
  authEnabled: z.boolean().nullish(),
  tokenAuthEnabled: z.boolean().nullish(),
  aadAuthEnabled: z.boolean().nullish(),
  containerResourceRequirements: resourcesSchema.nullish(),
  appInsightsEnabled: z.boolean().nullish(),
  scoringTimeoutMs: int.min(1).nullish(),
  maxConcurrentRequestsPerContainer: int.min(1).nullish(),
  maxQueueWaitMs: int.min(1).nullish(),
  numReplicas: int.min(1).nullish(),
  keys: keysSchema.nullish(),
  gpuCores: int.min(0).nullish(),
  livenessProbeRequirements: livenessSchema.nullish(),
  namespace: str.nullish(),
  computeName: str.nullish(),
  computeTargetName: str.nullish(),
  description: str.nullish(),
  tags: strMap.nullish(),
  kvTags: strMap.nullish(),
  properties: strMap.nullish(),
  blobfuseEnabled: z.boolean().nullish(),
};
/** Read-only fields of a service object (state, URIs, image, ...): what happened, not how to deploy. */
const statusShape = {
  id: str.nullish(),
  name: str.nullish(),
  state: str.nullish(),
  error: z.unknown().optional(),
  createdTime: z.unknown().optional(),
  updatedTime: z.unknown().optional(),
  createdBy: z.unknown().optional(),
  operationId: z.unknown().optional(),
  deploymentType: z.unknown().optional(),
  workspaceName: z.unknown().optional(),
  scoringUri: z.unknown().optional(),
  swaggerUri: z.unknown().optional(),
  deploymentStatus: z.unknown().optional(),
  imageId: z.unknown().optional(),
  imageDetails: z.unknown().optional(),
  modelConfigMap: z.unknown().optional(),
  models: z.array(modelRefSchema).nullish(),
  modelDetails: z.array(modelRefSchema).nullish(),
  environment: z.unknown().optional(),
  environmentDetails: z.unknown().optional(),
  environmentImageRequest: z.unknown().optional(),
};
const versionExtras = {
  trafficPercentile: num.min(0).max(100).nullish(),
  isDefault: z.boolean().nullish(),
  type: z.enum(["Control", "Treatment"]).nullish(),
  versionType: z.enum(["Control", "Treatment"]).nullish(),
};
const deploymentConfigSchema = z.object(aksSettingsShape).strict();
const aksServiceSchema = z.object({ ...aksSettingsShape, ...statusShape, ...versionExtras }).strict();
const aksEndpointSchema = z
  .object({
    ...statusShape,
    computeType: z.literal("AKSENDPOINT"),
    authEnabled: z.boolean().nullish(),
    aadAuthEnabled: z.boolean().nullish(),
    appInsightsEnabled: z.boolean().nullish(),
    computeName: str.nullish(),
    namespace: str.nullish(),
    description: str.nullish(),
    tags: strMap.nullish(),
    kvTags: strMap.nullish(),
    properties: strMap.nullish(),
    /** `AksEndpoint.serialize()`: version name → version. */
    versions: z.record(z.string(), z.unknown()).nullish(),
    /** The model-management object: a list of variants. */
    variants: z.array(z.unknown()).nullish(),
  })
  .strict();

const environmentSchema = z
  .object({
    name: str.nullish(),
    version: z.union([str, int]).nullish(),
    assetId: z.unknown().optional(),
    environmentVariables: strMap.nullish(),
    inferencingStackVersion: str.nullish(),
    python: z
      .object({
        userManagedDependencies: z.boolean().nullish(),
        interpreterPath: str.nullish(),
        condaDependenciesFile: str.nullish(),
        baseCondaEnvironment: str.nullish(),
        condaDependencies: z.record(z.string(), z.unknown()).nullish(),
      })
      .strict()
      .nullish(),
    docker: z
      .object({
        enabled: z.boolean().nullish(),
        baseImage: str.nullish(),
        baseDockerfile: str.nullish(),
        baseImageRegistry: z.object({ address: str.nullish(), username: str.nullish(), password: str.nullish(), registryIdentity: z.unknown().optional() }).strict().nullish(),
        platform: z.object({ os: str.nullish(), architecture: str.nullish() }).strict().nullish(),
        sharedVolumes: z.boolean().nullish(),
        shmSize: str.nullish(),
        arguments: z.array(str).nullish(),
        gpuSupport: z.boolean().nullish(),
        buildContext: z.unknown().optional(),
      })
      .strict()
      .nullish(),
    spark: z.object({ repositories: z.array(z.unknown()).nullish(), packages: z.array(z.unknown()).nullish(), precachePackages: z.boolean().nullish() }).strict().nullish(),
    databricks: z.record(z.string(), z.array(z.unknown()).nullish()).nullish(),
    r: z.unknown().optional(),
  })
  .strict();

const inferenceConfigSchema = z
  .object({
    entryScript: str.min(1),
    sourceDirectory: str.nullish(),
    environment: z.unknown().optional(),
    runtime: str.nullish(),
    condaFile: str.nullish(),
    baseImage: str.nullish(),
    baseImageRegistry: z.unknown().optional(),
    enableGpu: z.boolean().nullish(),
    cudaVersion: str.nullish(),
    extraDockerfileSteps: str.nullish(),
    schemaFile: str.nullish(),
    dependencies: z.array(str).nullish(),
    description: str.nullish(),
  })
  .strict();

/** An ARM parameter: `{ "value": ... }`. */
const param = <T extends z.ZodTypeAny>(value: T) => z.object({ value }).strict();
const isoDuration = z.string().regex(/^PT(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?$/, { message: "must be an ISO 8601 duration such as 'PT1M' or 'PT0.5S'" });
const quantity = z.union([z.string(), z.number()]);
const probeSchema = z
  .object({ failureThreshold: int.min(1).nullish(), successThreshold: int.min(1).nullish(), initialDelay: isoDuration.nullish(), period: isoDuration.nullish(), timeout: isoDuration.nullish() })
  .strict();
const resourceQuantitiesSchema = z.object({ cpu: quantity.nullish(), memory: quantity.nullish(), gpu: quantity.nullish() }).strict();
const onlineDeploymentSchema = z
  .object({
    name: str.min(1),
    location: str.nullish(),
    kind: str.nullish(),
    tags: strMap.nullish(),
    identity: z.unknown().optional(),
    sku: z.object({ name: str.nullish(), tier: str.nullish(), size: str.nullish(), family: str.nullish(), capacity: int.min(0).nullish() }).strict().nullish(),
    properties: z
      .object({
        endpointComputeType: z.enum(["Kubernetes", "Managed", "AzureMLCompute"]).nullish(),
        appInsightsEnabled: z.boolean().nullish(),
        codeConfiguration: z.object({ codeId: str.nullish(), scoringScript: str.min(1) }).strict().nullish(),
        description: str.nullish(),
        environmentId: str.nullish(),
        environmentVariables: strMap.nullish(),
        instanceType: str.nullish(),
        livenessProbe: probeSchema.nullish(),
        readinessProbe: probeSchema.nullish(),
        model: str.nullish(),
        modelMountPath: str.nullish(),
        properties: strMap.nullish(),
        requestSettings: z.object({ maxConcurrentRequestsPerInstance: int.min(1).nullish(), maxQueueWait: isoDuration.nullish(), requestTimeout: isoDuration.nullish() }).strict().nullish(),
        scaleSettings: z
          .object({
            scaleType: z.enum(["Default", "TargetUtilization"]),
            minInstances: int.min(1).nullish(),
            maxInstances: int.min(1).nullish(),
            targetUtilizationPercentage: int.min(1).max(100).nullish(),
            pollingInterval: isoDuration.nullish(),
          })
          .strict()
          .nullish(),
        containerResourceRequirements: z.object({ containerResourceRequests: resourceQuantitiesSchema.nullish(), containerResourceLimits: resourceQuantitiesSchema.nullish() }).strict().nullish(),
        dataCollector: z.object({ collections: z.record(z.string(), z.object({ dataCollectionMode: str.nullish() }).passthrough()).nullish() }).passthrough().nullish(),
        egressPublicNetworkAccess: str.nullish(),
        privateNetworkConnection: z.boolean().nullish(),
        instanceCount: int.min(1).nullish(),
      })
      .strict(),
  })
  .strict();
const endpointPropsSchema = z
  .object({
    authMode: z.enum(["Key", "AMLToken", "AADToken"]),
    description: str.nullish(),
    keys: keysSchema.nullish(),
    properties: strMap.nullish(),
    traffic: z.record(z.string(), int.min(0).max(100)).nullish(),
    mirrorTraffic: z.record(z.string(), int.min(0).max(100)).nullish(),
    compute: str.nullish(),
    publicNetworkAccess: str.nullish(),
  })
  .strict();
const paramsSchema = z
  .object({
    onlineEndpointName: param(str.min(1)),
    onlineEndpointProperties: param(endpointPropsSchema),
    onlineEndpointPropertiesTrafficUpdate: param(endpointPropsSchema.partial()).nullish(),
    onlineDeployments: param(z.array(onlineDeploymentSchema).min(1)),
    location: param(str).nullish(),
    workspaceName: param(str).nullish(),
    onlineEndpointTags: param(strMap).nullish(),
  })
  .strict();

type AksSettings = z.infer<typeof deploymentConfigSchema> & Partial<z.infer<typeof aksServiceSchema>>;
type Environment = z.infer<typeof environmentSchema>;
type Params = z.infer<typeof paramsSchema>;

// ---- Helpers ----

/** Collects refusals, each naming its file and field. */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly folder: string) {}
  add(file: string, field: string, message: string): void {
    this.list.push(`${this.folder}/${file}: ${field ? `${field}: ` : ""}${message}`);
  }
  /** Parses `doc` with `schema`; each issue is a problem naming the field, undefined when any. */
  parse<T extends z.ZodTypeAny>(file: string, schema: T, doc: unknown, at = ""): z.infer<T> | undefined {
    const r = schema.safeParse(doc);
    if (r.success) return r.data as z.infer<T>;
    for (const issue of r.error.issues) {
      const base = [at, ...issue.path.map(String)].filter(Boolean).join(".");
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) this.add(file, base ? `${base}.${k}` : k, "is not a field of this document's documented schema (see the table in docs/migrating-from-azure-ml-v1.md); refused rather than dropped");
      } else this.add(file, base, issue.message);
    }
    return undefined;
  }
}

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();
const present = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;
/** Present and not empty: an empty list, map or text says nothing to carry over. */
const meaningful = (v: unknown): boolean => present(v) && v !== "" && !(typeof v === "object" && Object.keys(v as object).length === 0);
/** Properties the SDK sets itself (tracking information), not the team's. */
const SDK_PROPERTIES = /^(azureml\.|hasInferenceSchema$|hasHttps$)/;

/** `PT1M30S` → 90000 ms. */
export function isoDurationMs(value: string): number {
  const m = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(value);
  if (!m || value === "PT") throw new Error(`'${value}' is not an ISO 8601 duration`);
  return Math.round(((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000);
}

/** A Kubernetes CPU quantity (`0.5`, `500m`) in cores. */
export function cpuCores(value: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(value).trim());
  if (!m) throw new Error(`'${value}' is not a CPU quantity such as '0.5' or '500m'`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** A Kubernetes memory quantity (`1Gi`, `512Mi`, `1G`, bytes) in GB as Azure ML v1 counts them (GiB, as `memory_gb` became `<n*1024>Mi`). */
export function memoryGb(value: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(value).trim());
  if (!m) throw new Error(`'${value}' is not a memory quantity such as '1Gi' or '512Mi'`);
  const factor: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.round((Number(m[1]) * factor[m[2] ?? ""]) / 2 ** 30 * 1000) / 1000;
}

/** `azureml:name:3`, `azureml:/subscriptions/.../models/name/versions/3` or `.../models/name/versions/3` → name and version. */
export function modelAssetId(id: string): { name: string; version: number } | undefined {
  const arm = /\/models\/([^/]+)\/versions\/(\d+)$/.exec(id);
  if (arm) return { name: arm[1], version: Number(arm[2]) };
  const short = /^azureml:([^:/]+):(\d+)$/.exec(id);
  return short ? { name: short[1], version: Number(short[2]) } : undefined;
}

/** scikit-learn's `sklearn.externals.joblib` was removed in 0.23; 0.22.2.post1 is the last release that has it (Python ≤ 3.8). */
const SKLEARN_EXTERNALS = /^\s*(?:from\s+sklearn\.externals\s+import\s+(?:[^#\n]*\b)?joblib\b|from\s+sklearn\.externals\.joblib\b|import\s+sklearn\.externals\.joblib\b)/m;
const AZUREML_SDK_IMPORT = /^\s*(?:from|import)\s+(azureml\.(?:automl|train\.automl|telemetry)[\w.]*)/gm;

/** The `scikit-learn` pin of a conda file (conda or pip section), as written, or undefined. */
export function sklearnPin(condaYaml: string): string | undefined {
  const doc = parseYaml(condaYaml) as { dependencies?: unknown[] } | null;
  const specs: string[] = [];
  for (const d of doc?.dependencies ?? []) {
    if (typeof d === "string") specs.push(d);
    else if (d && typeof d === "object" && Array.isArray((d as { pip?: unknown }).pip)) specs.push(...(d as { pip: unknown[] }).pip.filter((p): p is string => typeof p === "string"));
  }
  return specs.find((s) => /^(?:[\w-]+::)?scikit-learn\b/i.test(s.trim()));
}

/** Whether a scikit-learn spec allows only releases before 0.23 (`==0.22.1`, `=0.22`, `<0.23`, `<=0.22.2`). */
export function pinsSklearnBefore023(spec: string): boolean {
  const constraints = spec.replace(/^(?:[\w-]+::)?scikit-learn/i, "").split(",").map((c) => c.trim()).filter(Boolean);
  const older = (v: string) => {
    const [major, minor] = v.split(".").map((p) => parseInt(p, 10));
    return major === 0 && minor < 23;
  };
  return constraints.some((c) => {
    const m = /^(==|=|<=|<|~=)\s*(\d+\.\d+)/.exec(c);
    if (!m) return false;
    if (m[1] === "<") return m[2] === "0.23" || older(m[2]);
    return older(m[2]);
  });
}

function pythonAtMost38(version: string | undefined): boolean {
  if (!version) return false;
  const minor = Number(version.split(".")[1]);
  return minor <= 8;
}

// ---- The plan ----

interface Source {
  /** The document the deployment settings come from. */
  file: string;
  kind: "deploymentconfig" | "service" | "endpoint" | "params";
}

/** What one deployment (a service, or one version) says, each value with the field it came from. */
interface Deployment {
  file: string;
  name?: string;
  settings: AksSettings;
  /** A parameters file's deployment, already mapped. */
  mapped?: ServiceSettings;
  models?: { name: string; version: number; field: string }[];
}

/**
 * Decides how the v1 service in `folder` becomes a service of this stack. Throws V1ImportError
 * listing every refusal.
 */
export function planV1Import(folder: V1Folder, opts: ImportOptions): ImportPlan {
  const problems = new Problems(folder.name);
  const rows: MappingRow[] = [];
  const comments: string[] = [];
  const warnings: string[] = [];
  const row = (from: string, value: unknown, to?: string, note?: string) => rows.push({ from, value: show(value), ...(to ? { to } : {}), ...(note ? { note } : {}) });
  /** A v1 setting with no equivalent: a row, and a comment on the stack entry. */
  const unmapped = (from: string, value: unknown, why: string) => {
    row(from, value, undefined, why);
    comments.push(`v1 ${from} = ${oneLine(show(value))}: ${why}`);
  };

  const sources: Source[] = [];
  if ("deploymentconfig.json" in folder.json) sources.push({ file: "deploymentconfig.json", kind: "deploymentconfig" });
  if ("service.json" in folder.json) {
    const computeType = (folder.json["service.json"] as { computeType?: unknown } | null)?.computeType;
    sources.push({ file: "service.json", kind: computeType === "AKSENDPOINT" ? "endpoint" : "service" });
  }
  for (const f of Object.keys(folder.json).filter((f) => PARAMS_FILE.test(f))) sources.push({ file: f, kind: "params" });
  if (sources.length === 0) {
    problems.add("", "", `no deployment settings: expected deploymentconfig.json (az ml model deploy --dc), service.json (az ml service show -o json) or <service>.params.json (export-service-util.py)`);
    throw new V1ImportError(problems.list);
  }
  if (sources.length > 1) {
    problems.add(sources[1].file, "", `and ${sources[0].file} both describe the deployment; keep the one to import`);
    throw new V1ImportError(problems.list);
  }
  const source = sources[0];
  const doc = folder.json[source.file];

  // ---- The deployment(s): a service, or an endpoint's versions. ----
  let deployments: Deployment[] = [];
  let name = folder.name;
  let auth: "key" | "token" | "none" = "key";
  let keys: { primaryKey: string; secondaryKey: string } | undefined;
  let traffic: Map<string, number> | undefined;
  let mirror: Map<string, number> | undefined;
  let entryFromSource: { file: string; field: string; value: string } | undefined;
  let collectFromParams: boolean | undefined;
  const appInsightsFromParams = new Map<string, boolean>();
  let endpointSettings: z.infer<typeof aksEndpointSchema> | undefined;

  if (source.kind === "deploymentconfig" || source.kind === "service") {
    const settings = problems.parse(source.file, source.kind === "service" ? aksServiceSchema : deploymentConfigSchema, doc) as AksSettings | undefined;
    if (settings) {
      if (settings.computeType && settings.computeType.toUpperCase() !== "AKS") {
        problems.add(source.file, "computeType", `'${settings.computeType}': only AKS web services are imported (an ${settings.computeType} service's settings are not an AKS deployment's)`);
      }
      if (settings.name) name = settings.name;
      const models = (settings.models ?? settings.modelDetails)?.map((m, i) => ({ name: m.name, version: Number(m.version), field: `${settings.models ? "models" : "modelDetails"}[${i}]` }));
      deployments = [{ file: source.file, settings, models }];
    }
  } else if (source.kind === "endpoint") {
    endpointSettings = problems.parse(source.file, aksEndpointSchema, doc);
    if (endpointSettings) {
      if (endpointSettings.name) name = endpointSettings.name;
      const entries: [string, unknown, string][] = endpointSettings.versions
        ? Object.entries(endpointSettings.versions).map(([n, v]) => [n, v, `versions.${n}`])
        : (endpointSettings.variants ?? []).map((v, i) => [String((v as { name?: unknown } | null)?.name ?? ""), v, `variants[${i}]`]);
      if (entries.length === 0) problems.add(source.file, "versions", "an AksEndpoint without versions has nothing to deploy");
      traffic = new Map();
      for (const [versionName, raw, at] of entries) {
        const v = problems.parse(source.file, aksServiceSchema, raw, at) as AksSettings | undefined;
        if (!v) continue;
        const models = (v.models ?? v.modelDetails)?.map((m, i) => ({ name: m.name, version: Number(m.version), field: `${at}.${v.models ? "models" : "modelDetails"}[${i}]` }));
        deployments.push({ file: source.file, name: versionName, settings: v, models });
        // Auth and keys are the endpoint's (as here, the service's): a version saying otherwise is refused.
        const endpointToken = endpointSettings.aadAuthEnabled ?? false;
        for (const [field, value, expected] of [
          ["authEnabled", v.authEnabled, endpointSettings.authEnabled ?? !endpointToken],
          ["aadAuthEnabled", v.aadAuthEnabled, endpointToken],
          ["tokenAuthEnabled", v.tokenAuthEnabled, endpointToken],
        ] as const) {
          if (present(value) && value !== expected) problems.add(source.file, `${at}.${field}`, `${value} differs from the endpoint's: auth is the service's here, for every version`);
        }
        if (v.keys) problems.add(source.file, `${at}.keys`, "keys are the endpoint's (the service's here); give them in keys.json");
        describe(v, `${source.file}: ${at}.`, comments, row);
        if (!present(v.trafficPercentile)) problems.add(source.file, `${at}.trafficPercentile`, "is required: every version of an endpoint takes a share of its traffic here");
        else if (!Number.isInteger(v.trafficPercentile)) problems.add(source.file, `${at}.trafficPercentile`, `${v.trafficPercentile} is not a whole percent (the router splits by whole percents)`);
        else traffic.set(versionName, v.trafficPercentile);
        if (present(v.isDefault)) row(`${source.file}: ${at}.isDefault`, v.isDefault, undefined, "a request that pins no version is split by traffic here; pin one with the header azureml-model-deployment");
        const type = v.type ?? v.versionType;
        if (present(type)) row(`${source.file}: ${at}.type`, type, undefined, "control and treatment are only labels; each version's share is its traffic");
      }
    }
  } else {
    const raw = doc && typeof doc === "object" && "parameters" in (doc as object) ? (doc as { parameters: unknown }).parameters : doc;
    const params = problems.parse(source.file, paramsSchema, raw) as Params | undefined;
    if (params) {
      name = params.onlineEndpointName.value;
      const props = params.onlineEndpointProperties.value;
      auth = props.authMode === "Key" ? "key" : "token";
      row(`${source.file}: onlineEndpointProperties.authMode`, props.authMode, props.authMode === "Key" ? "authEnabled: true" : "tokenAuthEnabled: true", props.authMode === "AADToken" ? "tokens come from this stack's token issuer (tokenIssuer: builtin, or oidc for Entra ID)" : undefined);
      if (props.keys) keys = props.keys;
      const split = params.onlineEndpointPropertiesTrafficUpdate?.value.traffic ?? props.traffic;
      const mirrored = params.onlineEndpointPropertiesTrafficUpdate?.value.mirrorTraffic ?? props.mirrorTraffic;
      if (split && params.onlineDeployments.value.length > 1) traffic = new Map(Object.entries(split));
      if (mirrored) mirror = new Map(Object.entries(mirrored).filter(([, p]) => p > 0));
      params.onlineDeployments.value.forEach((d, i) => {
        const at = `onlineDeployments[${i}]`;
        const mapped = deploymentFromParams(d, `${source.file}: ${at}`, (field, message) => problems.add(source.file, `${at}.${field}`, message), row, unmapped);
        deployments.push({ file: source.file, name: d.name, settings: {}, mapped: mapped.settings, models: mapped.model ? [{ ...mapped.model, field: `${at}.properties.model` }] : undefined });
        if (mapped.entryScript) entryFromSource = { file: source.file, field: `${at}.properties.codeConfiguration.scoringScript`, value: mapped.entryScript };
        if (mapped.collect !== undefined) collectFromParams = (collectFromParams ?? false) || mapped.collect;
        if (present(d.properties.appInsightsEnabled)) appInsightsFromParams.set(`${at}.properties.appInsightsEnabled`, d.properties.appInsightsEnabled);
      });
      if (params.onlineDeployments.value.length === 1) deployments[0].name = undefined;
      for (const key of ["location", "workspaceName", "onlineEndpointTags"] as const) {
        const p = params[key];
        if (p && meaningful(p.value)) unmapped(`${source.file}: ${key}`, p.value, key === "onlineEndpointTags" ? "tags are kept as this comment" : "the stack's region and cluster, not a workspace's, hold the service");
      }
      for (const key of ["description", "properties", "compute", "publicNetworkAccess"] as const) {
        if (meaningful(props[key])) unmapped(`${source.file}: onlineEndpointProperties.${key}`, props[key], key === "description" ? "kept as this comment" : "no per-service equivalent: the stack's endpoint settings apply to every service");
      }
    }
  }
  if (problems.list.length > 0) throw new V1ImportError(problems.list);

  if (!serviceNameSchema.safeParse(name).success) {
    problems.add(source.file, "name", `'${name}' cannot be a service name here (3-32 lowercase letters, digits and '-', starting with a letter), and it is part of the scoring URI clients call`);
  }
  const versioned = deployments.length > 1 || source.kind === "endpoint";

  // ---- Auth and keys (the service's). ----
  const top: AksSettings | undefined = source.kind === "endpoint" ? (endpointSettings as AksSettings) : source.kind === "params" ? undefined : deployments[0]?.settings;
  if (top) {
    const token = top.tokenAuthEnabled ?? top.aadAuthEnabled;
    const tokenField = present(top.tokenAuthEnabled) ? "tokenAuthEnabled" : "aadAuthEnabled";
    if (token && top.authEnabled) problems.add(source.file, "authEnabled", "and token auth are both on: Azure ML v1 refuses that too (set authEnabled false)");
    auth = token ? "token" : top.authEnabled === false ? "none" : "key";
    if (present(top.authEnabled)) row(`${source.file}: authEnabled`, top.authEnabled, `authEnabled: ${auth === "key"}`);
    else if (!token) row(`${source.file}: authEnabled`, "(absent: v1's default, true)", "authEnabled: true");
    if (present(token)) row(`${source.file}: ${tokenField}`, token, `tokenAuthEnabled: ${token}`, token ? "tokens come from this stack's token issuer (tokenIssuer: builtin, or oidc for Entra ID), not from the workspace" : undefined);
    if (top.keys) keys = top.keys;
  }
  const keysDoc = folder.json["keys.json"];
  if (keysDoc !== undefined) {
    const fromFile = Array.isArray(keysDoc)
      ? problems.parse("keys.json", z.tuple([str.min(1), str.min(1)]), keysDoc)
      : problems.parse("keys.json", keysSchema, keysDoc);
    const k = Array.isArray(fromFile) ? { primaryKey: fromFile[0], secondaryKey: fromFile[1] } : fromFile;
    if (k && keys && (k.primaryKey !== keys.primaryKey || k.secondaryKey !== keys.secondaryKey)) {
      problems.add("keys.json", "", `holds other keys than ${source.file}: keep the pair the service's clients use`);
    } else if (k) keys = k;
  }
  if (auth === "key") {
    if (keys) {
      row(`${keysDoc !== undefined ? "keys.json" : source.file}: primaryKey, secondaryKey`, "(secret)", "keys (Pulumi secrets)", "clients keep their keys");
      if (keys.primaryKey === keys.secondaryKey) problems.add(keysDoc !== undefined ? "keys.json" : source.file, "secondaryKey", "equals the primary key: rotating one would lock every client out");
      for (const [field, value] of Object.entries(keys)) {
        if (!/^[\x21-\x7e]{1,256}$/.test(value)) problems.add(keysDoc !== undefined ? "keys.json" : source.file, field, "must be 1-256 visible ASCII characters (it is sent in the Authorization header)");
      }
    } else {
      warnings.push(`${folder.name}: no keys (keys.json from \`az ml service get-keys -n ${name} -o json\`): the service gets new keys, and every client must change its key`);
    }
  } else if (keys) {
    row(`${keysDoc !== undefined ? "keys.json" : source.file}: primaryKey, secondaryKey`, "(secret)", undefined, `${auth} auth: the service has no keys here`);
    keys = undefined;
  }
  if (auth === "none") warnings.push(`${folder.name}: authentication is off, as in v1: anyone who reaches the scoring URI can call it`);

  // ---- Settings of each deployment. ----
  const models = listModels(folder.files);
  const outDir = `${opts.out.replace(/\/+$/, "")}/${name}`;
  const copies: ImportPlan["copies"] = [];
  const writes: ImportPlan["writes"] = [];
  const copiedModels = new Set<string>();
  const usedModels = new Set<string>();
  const collect = new Map<string, boolean>();
  const appInsights = new Map<string, boolean>();
  const perDeployment: (ServiceSettings & { name?: string })[] = deployments.map((d) => {
    const at = d.name !== undefined && source.kind === "endpoint" ? (endpointSettings?.versions ? `versions.${d.name}.` : `variants[${deployments.indexOf(d)}].`) : "";
    const s = d.mapped ?? mapAksSettings(d.settings, `${d.file}: ${at}`, (field, message) => problems.add(d.file, `${at}${field}`, message), row, unmapped, opts.namespace);
    const out: ServiceSettings & { name?: string } = { name: d.name, ...stripExtras(s) };
    if (source.kind !== "params") {
      const c = d.settings.dataCollection?.storageEnabled;
      if (present(c)) collect.set(`${at}dataCollection.storageEnabled`, c);
      if (present(d.settings.appInsightsEnabled)) appInsights.set(`${at}appInsightsEnabled`, d.settings.appInsightsEnabled);
    }
    // Models: the document's list, else (deploymentconfig.json: `az ml model deploy -m`) the folder's.
    const refs = d.models ?? [...models.keys()].map((key) => ({ ...splitModelKey(key), field: "" }));
    if (refs.length === 0) problems.add("models", "", "no model: download each with `az ml model download -i <name>:<version> -t models/<name>/<version>`");
    out.models = refs.flatMap((m) => {
      const key = `${m.name}/${m.version}`;
      usedModels.add(key);
      const entries = models.get(key);
      if (!entries) {
        problems.add(m.field ? d.file : "models", m.field, `model ${m.name}:${m.version} is not under models/${key}/ (az ml model download -i ${m.name}:${m.version} -t models/${key})`);
        return [];
      }
      if (entries.size !== 1) {
        problems.add("models", key, `holds ${entries.size} entries (${[...entries].join(", ")}); Azure ML registers one file or folder per model version, which must be its only entry`);
        return [];
      }
      const entry = [...entries][0];
      const to = `${outDir}/azureml-models/${key}/${entry}`;
      if (!copiedModels.has(key)) copies.push(...filesBelow(folder.files, `models/${key}/${entry}`).map((f) => ({ from: f, to: `${outDir}/azureml-models/${f.slice("models/".length)}` })));
      copiedModels.add(key);
      row(`models/${key}/${entry}`, `${m.name}:${m.version}`, `models: { name: ${m.name}, version: ${m.version}, path: ${to} }`, "laid out as azureml-models/<name>/<version>/ as Azure ML did");
      return [{ name: m.name, path: to, version: m.version }];
    });
    return out;
  });
  for (const key of models.keys()) if (!usedModels.has(key)) problems.add("models", key, `is not a model of the service (${source.file} does not list it): remove it, or the service would ship a model v1 did not deploy`);

  // Data collection and Application Insights are the service's here; versions must agree.
  const collected = [...collect.values()];
  if (new Set(collected).size > 1) problems.add(source.file, [...collect.keys()].join(", "), "differ between versions: model data collection is the service's here (collectModelData), for every version");
  const collectModelData = collected[0] ?? collectFromParams;
  if (collected.length > 0) row(`${source.file}: ${[...collect.keys()][0]}`, collected[0], `collectModelData: ${collected[0]}`, collected[0] ? "inputs and outputs go to the storage account's modeldata container" : undefined);
  if (source.kind === "endpoint" && present(endpointSettings?.appInsightsEnabled)) appInsights.set("appInsightsEnabled", endpointSettings!.appInsightsEnabled!);
  for (const [field, on] of appInsightsFromParams) appInsights.set(field, on);
  const insights = [...new Set(appInsights.values())];
  if (insights.length > 1) problems.add(source.file, [...appInsights.keys()].join(", "), "differ: Application Insights is the service's here (appInsightsEnabled), for every version");
  const appInsightsEnabled = insights[0];
  for (const [field, on] of appInsights) row(`${source.file}: ${field}`, on, `appInsightsEnabled: ${on}`, on ? "the replicas get the environment's Application Insights connection string" : undefined);
  if (source.kind === "endpoint" && endpointSettings) {
    for (const field of ["namespace", "computeName"] as const) {
      const v = endpointSettings[field];
      if (present(v) && !(field === "namespace" && v === opts.namespace)) unmapped(`${source.file}: ${field}`, v, field === "namespace" ? `every service of this stack runs in its namespace (aks-inference:namespace, '${opts.namespace}')` : "the AKS compute target is this stack's cluster");
    }
    describe(endpointSettings, `${source.file}: `, comments, row);
  } else if (top) describe(top, `${source.file}: `, comments, row);

  // ---- Versions' traffic. ----
  let versions: ServiceEntry["versions"];
  if (versioned) {
    const names = perDeployment.map((d) => d.name!);
    for (const n of names) {
      if (!isVersionName(n) || n === IMPLICIT_VERSION) problems.add(source.file, source.kind === "params" ? "onlineDeployments.name" : `versions.${n}`, `'${n}' cannot be a version name here (1-16 lowercase letters, digits and '-', not '${IMPLICIT_VERSION}'): it names Kubernetes objects and the azureml-model-deployment header`);
    }
    const shares = traffic ?? new Map<string, number>();
    const mirrors = mirror ?? new Map<string, number>();
    for (const n of mirrors.keys()) if (!names.includes(n)) problems.add(source.file, "mirrorTraffic", `names '${n}', which is not a deployment of the endpoint`);
    for (const n of shares.keys()) if (!names.includes(n)) problems.add(source.file, "traffic", `names '${n}', which is not a deployment of the endpoint`);
    const live = names.filter((n) => !mirrors.has(n));
    const sum = live.reduce((s, n) => s + (shares.get(n) ?? 0), 0);
    if (problems.list.length === 0 && sum !== 100) problems.add(source.file, source.kind === "endpoint" ? "versions.*.trafficPercentile" : "traffic", `the versions' shares sum to ${sum}, not 100: the router splits all live traffic between them (set the shares in v1, or edit them after import)`);
    versions = perDeployment.map((d) => {
      const { name: versionName, ...settings } = d;
      const m = mirrors.get(versionName!);
      for (const [n, share] of shares) if (n === versionName) row(`${source.file}: ${source.kind === "endpoint" ? `versions.${n}.trafficPercentile` : `traffic.${n}`}`, share, `versions[${names.indexOf(n)}].traffic: ${share}`);
      if (m !== undefined) row(`${source.file}: mirrorTraffic.${versionName}`, m, `versions[${names.indexOf(versionName!)}].mirrorPercent: ${m}`);
      return { name: versionName!, ...(m !== undefined ? { mirrorPercent: m } : { traffic: shares.get(versionName!) ?? 0 }), ...settings };
    });
  }

  // ---- Source, entry script and environment. ----
  const inference = "inferenceconfig.json" in folder.json ? problems.parse("inferenceconfig.json", inferenceConfigSchema, folder.json["inferenceconfig.json"]) : undefined;
  const { sourceDir, entryScript } = locateSource(folder, inference, entryFromSource, problems, row);
  if (sourceDir !== undefined) {
    copies.push(...sourceFiles(folder.files, sourceDir).map((f) => ({ from: f, to: `${outDir}/source/${sourceDir === "" ? f : f.slice(sourceDir.length + 1)}` })));
    row(sourceDir === "" ? "(the folder's own files)" : sourceDir, "source directory", `sourceDirectory: ${outDir}/source`, "copied without the v1 descriptors (keys.json never)");
  }
  const environment = mapEnvironment(folder, inference, source, deployments, outDir, problems, row, unmapped, writes, copies);
  if (problems.list.length > 0) throw new V1ImportError(problems.list);

  // ---- What the scripts need: AutoML's packages, scikit-learn's removed joblib. ----
  const pySources = Object.entries(folder.text).filter(([f]) => f.endsWith(".py") && (sourceDir === "" ? !f.includes("/") || !NON_SOURCE_DIRS.includes(f.split("/")[0]) : f.startsWith(`${sourceDir}/`)));
  const conda = environment.condaText;
  for (const [file, text] of pySources) {
    const sdk = [...new Set([...text.matchAll(AZUREML_SDK_IMPORT)].map((m) => m[1]))];
    if (sdk.length > 0) {
      const listed = conda ? sdkPackagesListed(conda) : [];
      const note = `${file} imports ${sdk.join(", ")}: not among the scoring server's stand-ins; the image installs them from the conda file${listed.length ? ` (${listed.join(", ")})` : ""}, and local mode needs them installed (conda env create -f ${environment.condaFile ?? "<conda file>"})`;
      if (listed.length === 0) warnings.push(`${folder.name}: ${file} imports ${sdk.join(", ")}, but ${environment.condaFile ? "the conda file lists no azureml-automl-* / azureml-train-automl-* / azureml-telemetry package" : "there is no conda file"}: the service would fail at init() (add AutoML's packages, as the v1 AutoML environment listed them)`);
      else comments.push(note);
      row(file, sdk.join(", "), undefined, note);
    }
    if (SKLEARN_EXTERNALS.test(text)) {
      const pin = conda ? sklearnPin(conda) : undefined;
      const python = conda ? condaPythonVersion(conda) : undefined;
      const works = pin !== undefined && pinsSklearnBefore023(pin) && pythonAtMost38(python);
      const fix = `pin \`- python=3.8\` and \`- scikit-learn=0.22.2.post1\` in ${environment.condaFile ?? "the conda file"} (the last scikit-learn with sklearn.externals.joblib; it needs Python <= 3.8), or change the import to \`import joblib\``;
      if (works) comments.push(`${file} imports joblib from sklearn.externals: the conda file pins ${pin} and Python ${python}, which still have it`);
      else warnings.push(`${folder.name}: ${file} does \`from sklearn.externals import joblib\`, removed in scikit-learn 0.23${pin ? ` (the conda file has ${pin}${python ? `, Python ${python}` : ""})` : " (the conda file does not pin scikit-learn)"}: init() would fail. ${fix}`);
      row(file, "from sklearn.externals import joblib", undefined, works ? `works with ${pin} and Python ${python}` : fix);
    }
  }

  const service: ServiceEntry = {
    name,
    sourceDirectory: `${outDir}/source`,
    entryScript: entryScript!,
    ...(environment.entry ? { environment: environment.entry } : {}),
    ...(auth === "token" ? { authEnabled: false, tokenAuthEnabled: true } : { authEnabled: auth === "key" }),
    ...(collectModelData !== undefined ? { collectModelData } : {}),
    ...(appInsightsEnabled !== undefined ? { appInsightsEnabled } : {}),
    ...(versioned ? { versions } : stripName(perDeployment[0])),
  };
  comments.unshift(`${name}: imported from Azure ML v1 (${folder.name}/${source.file}) by \`aks-inference import-v1\`; v1 settings with no equivalent here:`);
  if (comments.length === 1) comments[0] = comments[0].replace(/; v1 settings with no equivalent here:$/, "");
  return { service, ...(keys ? { keys } : {}), copies, writes, rows, comments, warnings };
}

function stripName(d: ServiceSettings & { name?: string }): ServiceSettings {
  const { name: _name, ...rest } = d;
  return rest;
}

/** Only the stack's keys of a mapped deployment. */
function stripExtras(s: ServiceSettings): ServiceSettings {
  const keys: (keyof ServiceSettings)[] = ["cpuCores", "memoryGb", "gpuCores", "autoscaleEnabled", "autoscaleMinReplicas", "autoscaleMaxReplicas", "autoscaleTargetUtilization", "numReplicas", "replicaMaxConcurrentRequests", "maxRequestWaitTimeMs", "scoringTimeoutMs"];
  return Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]])) as ServiceSettings;
}

type Row = (from: string, value: unknown, to?: string, note?: string) => void;
type Unmapped = (from: string, value: unknown, why: string) => void;
type Refuse = (field: string, message: string) => void;

/** `AksWebservice.deploy_configuration`'s settings (as JSON) to the stack's. `at` prefixes the rows' field names. */
function mapAksSettings(s: AksSettings, at: string, refuse: Refuse, row: Row, unmapped: Unmapped, namespace: string): ServiceSettings {
  const out: ServiceSettings = {};
  const set = <K extends keyof ServiceSettings>(field: string, value: ServiceSettings[K] | null | undefined, key: K, note?: string) => {
    if (!present(value)) return;
    out[key] = value;
    row(`${at}${field}`, value, `${key}: ${show(value)}`, note);
  };
  const r = s.containerResourceRequirements;
  set("containerResourceRequirements.cpu", r?.cpu, "cpuCores");
  set("containerResourceRequirements.memoryInGB", r?.memoryInGB, "memoryGb");
  const gpu = r?.gpu ?? s.gpuCores;
  if (present(r?.gpu) && present(s.gpuCores) && r!.gpu !== s.gpuCores) refuse("gpuCores", `${s.gpuCores} differs from containerResourceRequirements.gpu ${r!.gpu}`);
  if (present(gpu) && gpu > 0) set(present(r?.gpu) ? "containerResourceRequirements.gpu" : "gpuCores", gpu, "gpuCores", "needs a GPU pool in the stack (gpuPools)");
  else if (present(gpu)) row(`${at}${present(r?.gpu) ? "containerResourceRequirements.gpu" : "gpuCores"}`, gpu, "gpuCores: 0 (the default)");
  if (present(r?.cpuLimit)) {
    if (present(r?.cpu) && r!.cpuLimit! < r!.cpu!) refuse("containerResourceRequirements.cpuLimit", `${r!.cpuLimit} is below cpu ${r!.cpu}`);
    unmapped(`${at}containerResourceRequirements.cpuLimit`, r!.cpuLimit, `no separate limit here: requests equal limits (Guaranteed QoS), so the replica gets cpuCores${present(r?.cpu) ? ` (${r!.cpu})` : ""}; raise cpuCores if the service relied on bursting`);
  }
  if (present(r?.memoryInGBLimit)) {
    if (present(r?.memoryInGB) && r!.memoryInGBLimit! < r!.memoryInGB!) refuse("containerResourceRequirements.memoryInGBLimit", `${r!.memoryInGBLimit} is below memoryInGB ${r!.memoryInGB}`);
    unmapped(`${at}containerResourceRequirements.memoryInGBLimit`, r!.memoryInGBLimit, "no separate limit here: requests equal limits, so a replica above memoryGb is killed; raise memoryGb to the limit if the service used more than its request");
  }
  if (present(r?.fpga) && r!.fpga > 0) refuse("containerResourceRequirements.fpga", "FPGA services are not supported here");

  const a = s.autoScaler;
  const autoscale = a?.autoscaleEnabled ?? !present(s.numReplicas);
  if (present(a?.autoscaleEnabled)) set("autoScaler.autoscaleEnabled", a!.autoscaleEnabled, "autoscaleEnabled");
  if (autoscale) {
    set("autoScaler.minReplicas", a?.minReplicas, "autoscaleMinReplicas");
    set("autoScaler.maxReplicas", a?.maxReplicas, "autoscaleMaxReplicas");
    set("autoScaler.targetUtilization", a?.targetUtilization, "autoscaleTargetUtilization");
    if (present(a?.minReplicas) && present(a?.maxReplicas) && a!.minReplicas! > a!.maxReplicas!) refuse("autoScaler.minReplicas", `${a!.minReplicas} is above maxReplicas ${a!.maxReplicas}`);
    if (present(s.numReplicas)) row(`${at}numReplicas`, s.numReplicas, undefined, "the replica count when exported; with autoscaling the router decides it, from autoscaleMinReplicas");
  } else {
    if (!present(s.numReplicas)) refuse("numReplicas", "is required when autoScaler.autoscaleEnabled is false (Azure ML v1 requires it too)");
    set("numReplicas", s.numReplicas, "numReplicas");
    for (const f of ["minReplicas", "maxReplicas", "targetUtilization"] as const) {
      if (present(a?.[f])) row(`${at}autoScaler.${f}`, a![f], undefined, "autoscaling is off: not used, as in v1");
    }
  }
  if (present(a?.refreshPeriodInSeconds)) {
    unmapped(`${at}autoScaler.refreshPeriodInSeconds`, a!.refreshPeriodInSeconds, "the router's autoscaler decides every second, scales up at once and down after 60 s below target; it has no period to set");
  }
  set("scoringTimeoutMs", s.scoringTimeoutMs, "scoringTimeoutMs");
  set("maxConcurrentRequestsPerContainer", s.maxConcurrentRequestsPerContainer, "replicaMaxConcurrentRequests");
  set("maxQueueWaitMs", s.maxQueueWaitMs, "maxRequestWaitTimeMs");
  if (s.dataCollection?.eventHubEnabled) refuse("dataCollection.eventHubEnabled", "model data to Event Hub is not supported: collected data goes to the storage account (collectModelData)");
  const probe = Object.entries(s.livenessProbeRequirements ?? {}).filter(([, v]) => present(v));
  if (probe.length > 0) {
    unmapped(`${at}livenessProbeRequirements`, Object.fromEntries(probe), "replicas are probed by this project's fixed probes: startup up to 300 s (init() may take that long), liveness /healthz every 10 s with 3 failures, readiness /readyz once init() finished");
  }
  if (present(s.namespace) && s.namespace !== namespace) unmapped(`${at}namespace`, s.namespace, `every service of this stack runs in its namespace (aks-inference:namespace, '${namespace}')`);
  else if (present(s.namespace)) row(`${at}namespace`, s.namespace, "the stack's namespace");
  for (const field of ["computeName", "computeTargetName"] as const) {
    if (present(s[field])) unmapped(`${at}${field}`, s[field], "the AKS compute target is this stack's cluster");
  }
  if (present(s.blobfuseEnabled)) unmapped(`${at}blobfuseEnabled`, s.blobfuseEnabled, "models are downloaded from the stack's storage account at replica start, never mounted");
  return out;
}

/** Description, tags and properties: kept as comments on the stack entry. `at` is `<file>: <field prefix>`. */
function describe(s: { description?: string | null; tags?: Record<string, string | null> | null; kvTags?: Record<string, string | null> | null; properties?: Record<string, string | null> | null }, at: string, comments: string[], row: Row): void {
  const label = at.replace(/^[^:]+: /, "");
  if (present(s.description) && s.description !== "") {
    comments.push(`${label}description: ${oneLine(s.description)}`);
    row(`${at}description`, s.description, "a comment on the entry", "the stack config has no description field");
  }
  const tags = s.tags ?? s.kvTags;
  if (tags && Object.keys(tags).length > 0) {
    const text = Object.entries(tags).map(([k, v]) => `${k}=${v ?? ""}`).join(", ");
    comments.push(`${label}${s.tags ? "tags" : "kvTags"}: ${oneLine(text)}`);
    row(`${at}${s.tags ? "tags" : "kvTags"}`, text, "a comment on the entry", "the stack config has no per-service tags");
  }
  // Properties are the SDK's own bookkeeping (its tracking info) as often as the team's.
  const props = s.properties && Object.entries(s.properties).filter(([k]) => !SDK_PROPERTIES.test(k));
  if (props && props.length > 0) {
    const text = props.map(([k, v]) => `${k}=${v ?? ""}`).join(", ");
    comments.push(`${label}properties: ${oneLine(text)}`);
    row(`${at}properties`, text, "a comment on the entry", "the stack config has no per-service properties");
  }
}

/** One `onlineDeployments[]` entry of the export tool's parameters, as this stack's settings. */
function deploymentFromParams(
  d: z.infer<typeof onlineDeploymentSchema>,
  at: string,
  refuse: Refuse,
  row: Row,
  unmapped: Unmapped,
): { settings: ServiceSettings; model?: { name: string; version: number }; entryScript?: string; collect?: boolean } {
  const p = d.properties;
  const out: ServiceSettings = {};
  const set = <K extends keyof ServiceSettings>(field: string, raw: unknown, key: K, value: ServiceSettings[K]) => {
    out[key] = value;
    row(`${at}.${field}`, raw, `${key}: ${show(value)}`);
  };
  const convert = <T>(field: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      refuse(field, (err as Error).message);
      return undefined;
    }
  };
  const requests = p.containerResourceRequirements?.containerResourceRequests;
  if (requests) {
    if (present(requests.cpu)) {
      const v = convert("properties.containerResourceRequirements.containerResourceRequests.cpu", () => cpuCores(requests.cpu!));
      if (v !== undefined) set("properties.containerResourceRequirements.containerResourceRequests.cpu", requests.cpu, "cpuCores", v);
    }
    if (present(requests.memory)) {
      const v = convert("properties.containerResourceRequirements.containerResourceRequests.memory", () => memoryGb(requests.memory!));
      if (v !== undefined) set("properties.containerResourceRequirements.containerResourceRequests.memory", requests.memory, "memoryGb", v);
    }
    if (present(requests.gpu)) {
      const v = Number(requests.gpu);
      if (!Number.isInteger(v) || v < 0) refuse("properties.containerResourceRequirements.containerResourceRequests.gpu", `'${requests.gpu}' is not a whole number of GPUs`);
      else if (v > 0) set("properties.containerResourceRequirements.containerResourceRequests.gpu", requests.gpu, "gpuCores", v);
    }
  }
  const limits = p.containerResourceRequirements?.containerResourceLimits;
  if (limits) for (const [k, v] of Object.entries(limits)) if (present(v)) unmapped(`${at}.properties.containerResourceRequirements.containerResourceLimits.${k}`, v, "no separate limit here: requests equal limits (Guaranteed QoS)");
  if (present(p.instanceType)) {
    if (!requests) refuse("properties.instanceType", `'${p.instanceType}' is a VM size, not the v1 service's cores and memory: import the Kubernetes parameters file (<compute>/Kubernetes/<service>.params.json), which carries containerResourceRequirements, or the service JSON`);
    else unmapped(`${at}.properties.instanceType`, p.instanceType, "the node pools are the stack's; the service's requests decide where it runs");
  }
  const req = p.requestSettings;
  if (present(req?.requestTimeout)) set("properties.requestSettings.requestTimeout", req!.requestTimeout, "scoringTimeoutMs", isoDurationMs(req!.requestTimeout!));
  if (present(req?.maxQueueWait)) set("properties.requestSettings.maxQueueWait", req!.maxQueueWait, "maxRequestWaitTimeMs", Math.max(1, isoDurationMs(req!.maxQueueWait!)));
  if (present(req?.maxConcurrentRequestsPerInstance)) set("properties.requestSettings.maxConcurrentRequestsPerInstance", req!.maxConcurrentRequestsPerInstance, "replicaMaxConcurrentRequests", req!.maxConcurrentRequestsPerInstance!);
  const scale = p.scaleSettings;
  if (scale?.scaleType === "TargetUtilization") {
    set("properties.scaleSettings.scaleType", scale.scaleType, "autoscaleEnabled", true);
    if (present(scale.minInstances)) set("properties.scaleSettings.minInstances", scale.minInstances, "autoscaleMinReplicas", scale.minInstances);
    if (present(scale.maxInstances)) set("properties.scaleSettings.maxInstances", scale.maxInstances, "autoscaleMaxReplicas", scale.maxInstances);
    if (present(scale.targetUtilizationPercentage)) set("properties.scaleSettings.targetUtilizationPercentage", scale.targetUtilizationPercentage, "autoscaleTargetUtilization", scale.targetUtilizationPercentage);
    if (present(scale.pollingInterval)) unmapped(`${at}.properties.scaleSettings.pollingInterval`, scale.pollingInterval, "the router's autoscaler decides every second; it has no period to set");
  } else {
    const count = d.sku?.capacity ?? p.instanceCount ?? 1;
    out.autoscaleEnabled = false;
    set(present(d.sku?.capacity) ? "sku.capacity" : present(p.instanceCount) ? "properties.instanceCount" : "properties.scaleSettings.scaleType", present(d.sku?.capacity) ? d.sku!.capacity : present(p.instanceCount) ? p.instanceCount : "Default (1 instance)", "numReplicas", count);
  }
  for (const probe of ["livenessProbe", "readinessProbe"] as const) {
    const v = p[probe];
    if (v) unmapped(`${at}.properties.${probe}`, v, "replicas are probed by this project's fixed probes (startup up to 300 s, liveness /healthz every 10 s, readiness once init() finished)");
  }
  const vars = p.environmentVariables ?? {};
  for (const [k, v] of Object.entries(vars)) {
    if (SERVER_ENV_VARS.includes(k)) row(`${at}.properties.environmentVariables.${k}`, v, undefined, "set by this project's scoring server itself");
    else if (SDK_DEFAULT_ENV_VARS[k] === v) row(`${at}.properties.environmentVariables.${k}`, v, undefined, "the SDK's placeholder variable; nothing reads it");
    else refuse(`properties.environmentVariables.${k}`, "a service here gets no environment variables of its own: make the script read this value from a file in its source directory");
  }
  let model: { name: string; version: number } | undefined;
  if (present(p.model)) {
    model = modelAssetId(p.model);
    if (!model) refuse("properties.model", `'${p.model}' is not a model asset id (azureml:<name>:<version> or .../models/<name>/versions/<version>)`);
  }
  if (present(p.codeConfiguration?.codeId)) row(`${at}.properties.codeConfiguration.codeId`, p.codeConfiguration!.codeId, undefined, "the code is the folder's source/ (download it from the export)");
  if (present(p.environmentId)) row(`${at}.properties.environmentId`, p.environmentId, undefined, "the environment is the folder's environment/ (az ml environment download)");
  let collect: boolean | undefined;
  if (p.dataCollector) {
    collect = Object.values(p.dataCollector.collections ?? {}).some((c) => c.dataCollectionMode !== "Disabled");
    row(`${at}.properties.dataCollector`, p.dataCollector, `collectModelData: ${collect}`, "every request's input and output to the storage account's modeldata container");
  }
  for (const [field, value, why] of [
    ["description", p.description, "kept as this comment"],
    ["modelMountPath", p.modelMountPath, "models are laid out as azureml-models/<name>/<version>/ (AZUREML_MODEL_DIR), as v1 did"],
    ["egressPublicNetworkAccess", p.egressPublicNetworkAccess, "egress is the stack's (egress, firewall)"],
    ["privateNetworkConnection", p.privateNetworkConnection, "the endpoint's network is the stack's"],
    ["properties", p.properties, "no per-service properties here"],
    ["endpointComputeType", p.endpointComputeType, "the service runs on this stack's cluster"],
  ] as const) {
    if (meaningful(value)) unmapped(`${at}.properties.${field}`, value, why);
  }
  for (const [field, value] of [["location", d.location], ["kind", d.kind], ["tags", d.tags]] as const) {
    if (meaningful(value)) unmapped(`${at}.${field}`, value, field === "tags" ? "kept as this comment" : "the stack's region and cluster hold the service");
  }
  return { settings: out, model, entryScript: p.codeConfiguration?.scoringScript, collect };
}

/** `models/<name>/<version>/<entry...>` files → `<name>/<version>` → its top-level entries. */
function listModels(files: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of files) {
    const m = /^models\/([^/]+)\/([^/]+)\/([^/]+)/.exec(f);
    if (!m) continue;
    const key = `${m[1]}/${m[2]}`;
    if (!out.has(key)) out.set(key, new Set());
    out.get(key)!.add(m[3]);
  }
  return out;
}

/** A folder as v1's configs name it (`./source/`, `.`) relative to the service's folder ('' for itself). */
function relativeDir(dir: string): string {
  const d = dir.replace(/\\/g, "/").replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  return d === "." ? "" : d;
}

/** `path` itself when it is a file, else the files below it. */
function filesBelow(files: readonly string[], path: string): string[] {
  return files.filter((f) => f === path || f.startsWith(`${path}/`));
}

/**
 * The files of the source directory to copy: never the import's descriptors (keys.json and the
 * parameters file hold the keys in plain text) and, for the folder itself, not its models and environment.
 */
export function sourceFiles(files: readonly string[], sourceDir: string): string[] {
  const secretBearing = (f: string) => {
    const base = f.split("/").pop()!;
    return base === "keys.json" || PARAMS_FILE.test(base);
  };
  const inside = sourceDir === "" ? files.filter((f) => !NON_SOURCE_DIRS.includes(f.split("/")[0]) && !(DESCRIPTOR_FILES as readonly string[]).includes(f)) : files.filter((f) => f.startsWith(`${sourceDir}/`));
  return inside.filter((f) => !secretBearing(f));
}

function splitModelKey(key: string): { name: string; version: number } {
  const [name, version] = key.split("/");
  return { name, version: Number(version) };
}

/** The source directory (below the folder, '' for the folder itself) and the entry script inside it. */
function locateSource(
  folder: V1Folder,
  inference: z.infer<typeof inferenceConfigSchema> | undefined,
  fromParams: { file: string; field: string; value: string } | undefined,
  problems: Problems,
  row: Row,
): { sourceDir?: string; entryScript?: string } {
  const has = (p: string) => folder.files.includes(p);
  const hasDir = (d: string) => folder.files.some((f) => f.startsWith(`${d}/`));
  let sourceDir: string | undefined;
  let entry: string | undefined;
  let entryFrom: string;
  if (inference) {
    const dir = inference.sourceDirectory ? relativeDir(inference.sourceDirectory) : undefined;
    if (dir !== undefined && (dir.startsWith("/") || dir.split("/").includes(".."))) {
      problems.add("inferenceconfig.json", "sourceDirectory", `'${inference.sourceDirectory}' leaves the service's folder: put the source directory inside it`);
      return {};
    }
    sourceDir = dir ?? (hasDir("source") ? "source" : "");
    entry = inference.entryScript.replace(/^\.\//, "");
    entryFrom = "inferenceconfig.json: entryScript";
  } else {
    sourceDir = hasDir("source") ? "source" : "";
    entry = fromParams?.value ?? "score.py";
    entryFrom = fromParams ? `${fromParams.file}: ${fromParams.field}` : "(no inferenceconfig.json: score.py)";
  }
  if (sourceDir !== "" && !hasDir(sourceDir)) {
    problems.add("inferenceconfig.json", "sourceDirectory", `'${sourceDir}' is not a folder of ${folder.name}`);
    return {};
  }
  const at = sourceDir === "" ? entry : `${sourceDir}/${entry}`;
  if (!has(at)) {
    problems.add(inference ? "inferenceconfig.json" : fromParams?.file ?? "", inference ? "entryScript" : fromParams?.field ?? "", `${at} does not exist${inference ? " (entryScript is relative to sourceDirectory, as v1 read it)" : "; put the entry script in source/ (or give inferenceconfig.json)"}`);
    return {};
  }
  if (DESCRIPTOR_FILES.some((d) => at === d)) {
    problems.add("inferenceconfig.json", "entryScript", `'${entry}' is one of the import's descriptor files`);
    return {};
  }
  row(entryFrom, entry, `entryScript: ${entry}`);
  return { sourceDir, entryScript: entry };
}

/** The environment: its conda file (copied as is, or written from an inline definition) and base image. */
function mapEnvironment(
  folder: V1Folder,
  inference: z.infer<typeof inferenceConfigSchema> | undefined,
  source: Source,
  deployments: Deployment[],
  outDir: string,
  problems: Problems,
  row: Row,
  unmapped: Unmapped,
  writes: ImportPlan["writes"],
  copies: ImportPlan["copies"],
): { entry?: { condaFile?: string; baseImage?: string }; condaText?: string; condaFile?: string } {
  const condaTo = `${outDir}/conda.yml`;
  let definition: { file: string; at: string; env: Environment } | undefined;
  let condaFile: { from: string; text: string } | undefined;

  if (folder.files.includes("environment/azureml_environment.json")) {
    const env = problems.parse("environment/azureml_environment.json", environmentSchema, folder.json["environment/azureml_environment.json"]);
    if (env) definition = { file: "environment/azureml_environment.json", at: "", env };
    const yml = folder.files.find((f) => /^environment\/[^/]+\.ya?ml$/.test(f));
    if (yml) condaFile = { from: yml, text: folder.text[yml] ?? "" };
  } else if (inference && present(inference.environment)) {
    const env = problems.parse("inferenceconfig.json", environmentSchema, inference.environment, "environment");
    if (env) definition = { file: "inferenceconfig.json", at: "environment.", env };
  } else if (inference && present(inference.condaFile)) {
    const dir = inference.sourceDirectory ? relativeDir(inference.sourceDirectory) : "";
    const from = dir ? `${dir}/${inference.condaFile}` : inference.condaFile;
    if (!folder.files.includes(from)) problems.add("inferenceconfig.json", "condaFile", `${from} does not exist (condaFile is relative to sourceDirectory, as v1 read it)`);
    else condaFile = { from, text: folder.text[from] ?? "" };
  } else if (source.kind === "service" || source.kind === "endpoint") {
    // The service object's environment: the SDK's serialize() or the model-management object.
    const envs = deployments.map((d, i) => {
      const s = d.settings as { environment?: unknown; environmentDetails?: unknown; environmentImageRequest?: { environment?: unknown } | null };
      const field = present(s.environmentDetails) ? "environmentDetails" : present(s.environment) ? "environment" : "environmentImageRequest.environment";
      return { raw: s.environmentDetails ?? s.environment ?? s.environmentImageRequest?.environment, at: `${source.kind === "endpoint" ? `versions.${d.name ?? i}.` : ""}${field}` };
    });
    const texts = new Set(envs.map((e) => JSON.stringify(e.raw ?? null)));
    if (texts.size > 1) problems.add(source.file, envs.map((e) => e.at).join(", "), "the versions use different environments; this importer gives all versions the service's one environment (import them as separate services)");
    else if (present(envs[0]?.raw)) {
      const env = problems.parse(source.file, environmentSchema, envs[0].raw, envs[0].at);
      if (env) definition = { file: source.file, at: `${envs[0].at}.`, env };
    }
  }
  if (inference) {
    if (present(inference.runtime) && inference.runtime.toLowerCase() !== "python") problems.add("inferenceconfig.json", "runtime", `'${inference.runtime}': only Python entry scripts are imported`);
    if (present(inference.extraDockerfileSteps)) problems.add("inferenceconfig.json", "extraDockerfileSteps", "Dockerfile steps are not added to the scoring image here: install what they install through the conda file");
    if (present(inference.baseImageRegistry)) problems.add("inferenceconfig.json", "baseImageRegistry", "a base image from a private registry with credentials is not supported: push the image to the stack's ACR and name it in baseImage");
    for (const [field, value, why] of [
      ["enableGpu", inference.enableGpu, "the GPU image is chosen by gpuCores > 0"],
      ["cudaVersion", inference.cudaVersion, "GPU Python services start from Azure ML's CUDA 11.8 base image"],
      ["schemaFile", inference.schemaFile, "swagger.json comes from the script's inference_schema decorators, or a swagger.json in the source directory"],
      ["dependencies", inference.dependencies, "the whole source directory is packaged"],
      ["description", inference.description, "kept as this comment"],
    ] as const) {
      if (present(value)) unmapped(`inferenceconfig.json: ${field}`, value, why);
    }
  }

  let baseImage: string | undefined;
  if (definition) {
    const { env, file, at } = definition;
    const here = (field: string) => `${file}: ${at}${field}`;
    if (env.python?.userManagedDependencies) problems.add(file, `${at}python.userManagedDependencies`, "true: the environment's packages are not listed anywhere; list them in a conda file");
    if (present(env.docker?.baseDockerfile)) problems.add(file, `${at}docker.baseDockerfile`, "a base Dockerfile is not supported: build the image, push it to the stack's ACR and name it as the base image");
    if (present(env.docker?.baseImageRegistry?.address) || present(env.docker?.baseImageRegistry?.password)) {
      problems.add(file, `${at}docker.baseImageRegistry`, "a base image from a private registry with credentials is not supported: push the image to the stack's ACR and name it in docker.baseImage");
    }
    if (env.spark && ((env.spark.packages?.length ?? 0) > 0 || (env.spark.repositories?.length ?? 0) > 0)) problems.add(file, `${at}spark`, "Spark packages are not supported");
    if (env.databricks && Object.values(env.databricks).some((l) => (l?.length ?? 0) > 0)) problems.add(file, `${at}databricks`, "Databricks libraries are not supported");
    if (present(env.r)) problems.add(file, `${at}r`, "R environments are not supported");
    for (const [k, v] of Object.entries(env.environmentVariables ?? {})) {
      if (SDK_DEFAULT_ENV_VARS[k] === v) row(here(`environmentVariables.${k}`), v, undefined, "the SDK's placeholder variable; nothing reads it");
      else if (SERVER_ENV_VARS.includes(k)) row(here(`environmentVariables.${k}`), v, undefined, "set by this project's scoring server itself");
      else problems.add(file, `${at}environmentVariables.${k}`, "a service here gets no environment variables of its own: make the script read this value from a file in its source directory");
    }
    const image = env.docker?.baseImage;
    if (present(image)) {
      // v1's own defaults (Ubuntu 16.04/18.04 images, long retired) give way to this project's.
      if (/^mcr\.microsoft\.com\/azureml\/(base|intelmpi|openmpi)/.test(image)) row(here("docker.baseImage"), image, undefined, "an Azure ML default base image: this project's current Azure ML base image is used (environment.baseImage to pin one)");
      else {
        baseImage = image;
        row(here("docker.baseImage"), image, `environment.baseImage: ${image}`, "it must have conda, as Azure ML's base images do");
      }
    }
    for (const [field, value] of [["docker.shmSize", env.docker?.shmSize], ["docker.arguments", env.docker?.arguments?.length ? env.docker.arguments : undefined], ["inferencingStackVersion", env.inferencingStackVersion]] as const) {
      if (present(value)) unmapped(here(field), value, field === "inferencingStackVersion" ? "the inferencing stack is this project's scoring server" : "the replica's container settings are the project's");
    }
    if (present(env.name)) row(here("name"), `${env.name}${present(env.version) ? `:${env.version}` : ""}`, undefined, "the environment's conda file is the service's");
    if (!condaFile && env.python?.condaDependencies) {
      const text = stringifyYaml(env.python.condaDependencies);
      writes.push({ to: condaTo, text });
      row(here("python.condaDependencies"), "(inline)", `environment.condaFile: ${condaTo}`, "written as a conda file");
      return { entry: { condaFile: condaTo, ...(baseImage ? { baseImage } : {}) }, condaText: text, condaFile: condaTo };
    }
  }
  if (condaFile) {
    copies.push({ from: condaFile.from, to: condaTo });
    row(condaFile.from, "conda file", `environment.condaFile: ${condaTo}`, "next to the models; the image creates the environment from it");
    return { entry: { condaFile: condaTo, ...(baseImage ? { baseImage } : {}) }, condaText: condaFile.text, condaFile: condaTo };
  }
  problems.add("environment", "", "no environment: download it with `az ml environment download -n <name> -d environment`, or give inferenceconfig.json an environment or condaFile");
  return {};
}

/** Azure ML SDK distributions a conda file lists that carry `azureml.automl*` / `azureml.telemetry`. */
function sdkPackagesListed(condaYaml: string): string[] {
  return [...condaYaml.matchAll(/\b(azureml-(?:automl|train-automl|telemetry)[\w-]*)/g)].map((m) => m[1]).filter((v, i, a) => a.indexOf(v) === i);
}
