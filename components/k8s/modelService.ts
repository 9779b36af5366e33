/**
 * One model service on the cluster: its project package and models uploaded to blob storage,
 * a Deployment of scoring replicas (resources, GPU scheduling, probes, graceful drain), a
 * Service the router discovers (with the routing settings as an annotation), its keys as a
 * Secret and as secret outputs. Replicas are the router's to change: never an HPA.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { scoringHost, scoringUri, versionsOf, type ModelServiceConfig, type ModelVersionConfig, type StackConfig } from "../../core/config";
import {
  APP_INSIGHTS_SECRET,
  GPU_POOL_LABEL,
  GPU_TAINT,
  KEY_FIELDS,
  LABELS,
  MANAGED_BY,
  MODEL_COUNT_ANNOTATION,
  ROLE_MODEL,
  SCORING_ENV,
  SCORING_PORT,
  SETTINGS_ANNOTATION,
  WORKLOAD_IDENTITY,
  keySecretName,
  modelBlobPrefix,
  modelDeploymentName,
  packageBlobName,
} from "../../core/contracts/naming";
import { mayRunSeveralReplicas, topologySpread } from "../../core/decisions/disruption";
import { containerResources } from "../../core/decisions/resources";
import { routerPayloadLimitBytes } from "../../core/decisions/payloadLimit";
import { routingSettings } from "../../core/contracts/routingSettings";
import { scoringEnv, serviceScoringEnv } from "../../core/contracts/scoringEnv";
import { hashFiles, modelFiles, modelHash, packageProject, projectFiles } from "../../packaging/project";
import type { Storage } from "../storage";
import { CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT } from "./podSecurity";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

export interface ModelServiceArgs {
  service: ModelServiceConfig;
  stack: Pick<StackConfig, "endpoint" | "clusterName" | "location" | "tokenIssuer" | "router">;
  /** Whether the nodes span availability zones (the cluster purpose's; pods then spread over them). */
  zonal: boolean;
  provider: k8s.Provider;
  namespace: pulumi.Input<string>;
  /** The environment image of each version, by version name (`default` for a service without versions). */
  images: Record<string, pulumi.Input<string>>;
  /** The program's folder: project folders and models are relative to it (or absolute). */
  projectRoot: string;
  /** Uploads packages and models (once per content-addressed blob). */
  storage: Storage;
  /**
   * ServiceAccount of the model pods: its workload identity reads packages and models and
   * writes collected data (no account key; the pods carry the workload identity label).
   */
  serviceAccountName: pulumi.Input<string>;
  /**
   * A service with `appInsightsEnabled`: the Secret (components/monitoring.ts) its replicas read
   * the Application Insights connection string from. Default: none.
   */
  appInsightsSecretName?: pulumi.Input<string>;
  /** The scoring host as deployed (a tenant-scoped cloudapp label's hash is only known from Azure); default: from config. */
  host?: pulumi.Input<string>;
  /** The router, and the workload identity's federated credential and roles: pods need both first. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class ModelService extends pulumi.ComponentResource {
  readonly serviceName: string;
  readonly scoringUri: pulumi.Output<string>;
  readonly swaggerUri: pulumi.Output<string>;
  /** The Deployment of each version (one for a service without versions). */
  readonly deploymentNames: string[];
  /** The Deployment of each declared version, by version; undefined for a service without versions. */
  readonly deployments?: Record<string, string>;
  /** Primary and secondary key (secret), for key auth. */
  readonly keys?: pulumi.Output<{ primaryKey: string; secondaryKey: string }>;

  constructor(name: string, args: ModelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("ModelService"), name, {}, withFormerType(FORMER_TYPES.ModelService, opts));
    const svc = args.service;
    this.serviceName = svc.name;
    const k = { parent: this, provider: args.provider };
    const labels = { [LABELS.role]: ROLE_MODEL, [LABELS.service]: svc.name, [LABELS.managedBy]: MANAGED_BY };

    if (svc.authMode === "key") {
      const key = (which: string) => new random.RandomPassword(`${name}-${which}-key`, { length: 43, special: false }, { parent: this }).result;
      // Configured keys (a migrated v1 service's) come from the stack's secrets; else generated.
      this.keys = svc.keys
        ? pulumi.secret({ primaryKey: svc.keys.primaryKey, secondaryKey: svc.keys.secondaryKey })
        : pulumi.secret(pulumi.all([key("primary"), key("secondary")]).apply(([primaryKey, secondaryKey]) => ({ primaryKey, secondaryKey })));
      new k8s.core.v1.Secret(
        `${name}-keys`,
        {
          metadata: { name: keySecretName(svc.name), namespace: args.namespace, labels: { ...labels, [LABELS.keysFor]: svc.name } },
          stringData: this.keys.apply((keys) => ({ [KEY_FIELDS.primary]: keys.primaryKey, [KEY_FIELDS.secondary]: keys.secondaryKey })),
        },
        // `aks-inference regen-key` rotates keys in the Secret: `pulumi up` must not put old ones back.
        { ...k, ignoreChanges: ["stringData", "data"] },
      );
    }

    // One Deployment and Service per version. The implicit version of a service without
    // versions keeps the names (Kubernetes and Pulumi) a service always had: no replacement.
    this.deploymentNames = versionsOf(svc).map((v) => {
      const declared = svc.versions ? v.version : undefined;
      return this.version(declared === undefined ? name : `${name}-${declared}`, args, v, declared, { ...labels, ...(declared ? { [LABELS.version]: declared } : {}) });
    });
    if (svc.versions) this.deployments = Object.fromEntries(svc.versions.map((v, i) => [v.version, this.deploymentNames[i]]));
    const configured = scoringUri(args.stack, svc.name);
    this.scoringUri = pulumi.output(args.host ?? scoringHost(args.stack)).apply((host) => configured.replace(scoringHost(args.stack), host));
    this.swaggerUri = this.scoringUri.apply((uri) => uri.replace(/\/score$/, "/swagger.json"));
    this.registerOutputs({ scoringUri: this.scoringUri, swaggerUri: this.swaggerUri, keys: this.keys });
  }

  /**
   * One version's objects: its package and models uploaded, its Deployment and its Service (with
   * the routing settings the router reads). `declared` is the version's name, undefined for a
   * service's implicit version. Returns the Deployment's name.
   */
  private version(name: string, args: ModelServiceArgs, v: ModelVersionConfig, declared: string | undefined, labels: Record<string, string>): string {
    const k = { parent: this, provider: args.provider };
    const svc = args.service;
    // Package: the project folder's files (honoring .amlignore/.gitignore), named by content hash,
    // so an unchanged package is neither re-uploaded nor makes pods restart.
    const uploads: pulumi.Resource[] = [];
    let packageBlob = "";
    if (v.sourceDirectory) {
      const dir = path.resolve(args.projectRoot, v.sourceDirectory);
      const files = projectFiles(dir);
      packageBlob = packageBlobName(svc.name, hashFiles(dir, files).slice(0, 16));
      uploads.push(args.storage.blob("packages", packageBlob, pulumi.output(packageZipFile(args.projectRoot, dir, packageBlob))));
    }
    const models = v.models.map((m) => {
      const abs = path.resolve(args.projectRoot, m.path);
      const prefix = modelBlobPrefix(m.name, modelHash(abs));
      for (const f of modelFiles(abs)) uploads.push(args.storage.blob("models", `${prefix}${f.rel}`, f.abs));
      return { name: m.name, version: m.version, prefix };
    });

    const deploymentName = modelDeploymentName(svc.name, declared);
    const meta = { name: deploymentName, namespace: args.namespace, labels };
    const selector = { [LABELS.role]: ROLE_MODEL, [LABELS.service]: svc.name, ...(declared ? { [LABELS.version]: declared } : {}) };

    const gpu = v.gpuCores > 0;
    // Node upgrades (auto-upgrade, node image, surge) drain nodes one at a time: several replicas
    // spread over nodes (and zones) with a budget of one unavailable pod never all go at once.
    // A single replica gets neither: a PodDisruptionBudget of maxUnavailable 1 would still let
    // the drain evict it (it protects nothing), and one that forbids that (minAvailable 1) would
    // block the drain and stall the upgrade. Such a service is briefly unavailable while its pod
    // is rescheduled; numReplicas or autoscaleMinReplicas of 2 avoid that (docs/deploying.md, "Upgrading AKS").
    const several = mayRunSeveralReplicas(v);
    const spread = several ? topologySpread(selector, args.zonal) : undefined;
    // The same service environment local mode gives its replicas, plus the pod's own parts.
    const routerLimitBytes = routerPayloadLimitBytes(args.stack.router.payloadLimitMb);
    const vars = (e: Record<string, string>) => Object.entries(e).map(([name, value]) => ({ name, value }));
    const env: k8s.types.input.core.v1.EnvVar[] = [
      ...vars(serviceScoringEnv(v, { packageBlob, models }, routerLimitBytes)),
      // Two values only Kubernetes (the pod's name) and Azure (the account's endpoint) know.
      { name: SCORING_ENV.replicaId, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ...vars(scoringEnv({ port: SCORING_PORT })),
      { name: SCORING_ENV.storageAccountUrl, value: args.storage.blobEndpoint },
      // A reference only: the connection string is in neither the Deployment nor the stack's plain state.
      ...(args.appInsightsSecretName ? [{ name: SCORING_ENV.appInsightsConnectionString, valueFrom: { secretKeyRef: { name: args.appInsightsSecretName, key: APP_INSIGHTS_SECRET.key } } }] : []),
      // GPU only on the cluster: local mode runs every service on the machine's CPU.
      ...vars(scoringEnv({ workDir: "/work", ...(gpu ? { gpu: { gpuCores: v.gpuCores, fallbackToCpu: v.gpuFallbackToCpu, pool: v.gpuPool } } : {}) })),
    ];
    const probe = (p: string, period: number, failures: number) => ({ httpGet: { path: p, port: SCORING_PORT }, periodSeconds: period, timeoutSeconds: 2, failureThreshold: failures });
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { ...meta, annotations: { [MODEL_COUNT_ANNOTATION]: String(v.models.length) } },
        spec: {
          replicas: v.initialReplicas,
          selector: { matchLabels: selector },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // The workload identity webhook injects the identity's token and client ID into pods
            // with this label; the ServiceAccount names the identity.
            metadata: { labels: { ...labels, [WORKLOAD_IDENTITY.useLabel]: "true" } },
            spec: {
              serviceAccountName: args.serviceAccountName,
              // No Kubernetes API token: the pods only talk to blob storage.
              automountServiceAccountToken: false,
              terminationGracePeriodSeconds: Math.ceil(v.scoringTimeoutMs / 1000) + 15,
              securityContext: POD_SECURITY_CONTEXT,
              ...(spread ? { topologySpreadConstraints: spread } : {}),
              ...(gpu
                ? {
                    tolerations: [{ key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect }],
                    nodeSelector: { [GPU_POOL_LABEL]: v.gpuPool ?? "" },
                  }
                : {}),
              containers: [
                {
                  name: "scoring",
                  image: args.images[v.version],
                  ports: [{ name: "http", containerPort: SCORING_PORT }],
                  env,
                  resources: containerResources(v),
                  // Ready only after init(): until then the router sends nothing.
                  readinessProbe: probe("/readyz", 2, 1),
                  livenessProbe: { ...probe("/healthz", 10, 3), initialDelaySeconds: 10 },
                  startupProbe: probe("/healthz", 2, 150),
                  lifecycle: { preStop: { sleep: { seconds: 5 } } },
                  terminationMessagePolicy: "FallbackToLogsOnError",
                  securityContext: CONTAINER_SECURITY_CONTEXT,
                  volumeMounts: [
                    { name: "work", mountPath: "/work" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "work", emptyDir: {} },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
      // The router owns the replica count (autoscaling): `pulumi up` sets it only at creation.
      { ...k, dependsOn: [...uploads, ...((args.dependsOn as pulumi.Resource[] | undefined) ?? [])], ignoreChanges: v.autoscaleEnabled ? ["spec.replicas"] : [] },
    );
    if (several) {
      new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, k);
    }
    new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { ...meta, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(routingSettings(svc, v, args.stack.tokenIssuer.audience, routerLimitBytes)) } },
        spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: SCORING_PORT, targetPort: SCORING_PORT }] },
      },
      { ...k, dependsOn: args.dependsOn },
    );
    return deploymentName;
  }
}

/**
 * The project package as a zip file on this machine, for its upload: built once per content
 * hash under `.aks-inference/packages/` (the blob name is that hash, so an existing file is it).
 */
async function packageZipFile(projectRoot: string, dir: string, blobName: string): Promise<string> {
  const file = path.join(projectRoot, ".aks-inference", "packages", blobName);
  if (!existsSync(file)) {
    const pkg = await packageProject(dir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, pkg.zip);
  }
  return file;
}
