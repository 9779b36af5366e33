/**
 * The CLI's cluster backend: the Kubernetes API through a kubeconfig. Kept apart from the local
 * backend because @kubernetes/client-node is most of the CLI's weight (4 of its 6 MB bundled):
 * the CLI loads this module only for --kubeconfig, so commands against local mode start fast.
 */
import * as k8s from "@kubernetes/client-node";
import { generateKey, keysFromSecretData, mintToken, type MintedToken, type ServiceKeys } from "../core/auth";
import {
  DEFAULT_NAMESPACE,
  GPU_RESOURCE,
  KEY_FIELDS,
  LABELS,
  ROUTER_HOST_ANNOTATION,
  ROUTER_NAME,
  SETTINGS_ANNOTATION,
  TOKEN_SIGNING_FIELD,
  TOKEN_SIGNING_SECRET,
  keySecretName,
  modelDeploymentName,
  type KeyName,
} from "../core/naming";
import { computeFromLog, type ComputeProvider } from "../core/gpu";
import { parseRoutingSettings, type ServiceRoutingSettings } from "../core/routingSettings";
import type { ServiceDescription } from "../local/admin";
import { serviceState, type ReplicaInfo, type ReplicaStatus } from "../core/serviceState";
import { CliError, type Backend } from "./backends";

/** The backend for the cluster a kubeconfig file points at. */
export function kubernetesBackend(kubeconfig: string, namespace: string): KubernetesBackend {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return new KubernetesBackend(kc, namespace);
}

/** A pod's replica status, in local mode's terms. */
export function podStatus(pod: k8s.V1Pod): { status: ReplicaStatus; reason?: string } {
  if (pod.metadata?.deletionTimestamp) return { status: "stopping" };
  const cs = pod.status?.containerStatuses?.[0];
  const terminated = cs?.lastState?.terminated ?? cs?.state?.terminated;
  if (terminated?.exitCode === 3) return { status: "failed", reason: terminated.message ?? "init() failed (see logs)" };
  if (cs?.state?.waiting?.reason === "CrashLoopBackOff" || cs?.state?.waiting?.reason === "ImagePullBackOff" || cs?.state?.waiting?.reason === "ErrImagePull") {
    return { status: "crashed", reason: `${cs.state.waiting.reason}: ${cs.state.waiting.message ?? terminated?.message ?? ""}`.trim() };
  }
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  if (ready) return { status: "ready" };
  const unschedulable = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  return { status: "starting", reason: unschedulable ? `unschedulable: ${unschedulable.message ?? ""}` : undefined };
}

/** Whether a pod's containers ask for a GPU (only those report their compute). */
function requestsGpu(pod: k8s.V1Pod): boolean {
  return (pod.spec?.containers ?? []).some((c) => Number(c.resources?.limits?.[GPU_RESOURCE] ?? 0) > 0);
}

export class KubernetesBackend implements Backend {
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly namespace = DEFAULT_NAMESPACE,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }

  private async settings(service: string): Promise<ServiceRoutingSettings> {
    let svc: k8s.V1Service;
    try {
      svc = await this.core.readNamespacedService({ name: modelDeploymentName(service), namespace: this.namespace });
    } catch {
      throw new CliError(`service '${service}' does not exist in namespace '${this.namespace}'`);
    }
    try {
      return parseRoutingSettings(svc.metadata?.annotations?.[SETTINGS_ANNOTATION], svc.metadata?.labels?.[LABELS.service], `service '${service}'`);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }

  async describe(service: string): Promise<ServiceDescription> {
    const settings = await this.settings(service);
    const deployment = await this.apps.readNamespacedDeployment({ name: modelDeploymentName(service), namespace: this.namespace });
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABELS.service}=${service}` });
    const replicas: ReplicaInfo[] = await Promise.all(
      pods.items.map(async (p) => {
        const info: ReplicaInfo = {
          id: p.metadata?.name ?? "",
          url: p.status?.podIP ? `http://${p.status.podIP}` : "",
          startedAt: p.status?.startTime ? new Date(p.status.startTime).toISOString() : "",
          ...podStatus(p),
        };
        return info.status === "ready" && requestsGpu(p) ? { ...info, gpu: await this.readinessCompute(info.id) } : info;
      }),
    );
    const desired = deployment.spec?.replicas ?? 0;
    const router = await this.core.readNamespacedService({ name: ROUTER_NAME, namespace: this.namespace }).catch(() => undefined);
    const ingress = router?.status?.loadBalancer?.ingress?.[0];
    const host = router?.metadata?.annotations?.[ROUTER_HOST_ANNOTATION] ?? ingress?.hostname ?? ingress?.ip ?? "<pending>";
    const scheme = router?.spec?.ports?.some((p) => p.port === 443) ? "https" : "http";
    return {
      name: service,
      desired,
      ready: replicas.filter((r) => r.status === "ready").length,
      replicas,
      ...serviceState(desired, replicas),
      authMode: settings.authMode,
      scoringUri: `${scheme}://${host}/api/v1/service/${service}/score`,
      swaggerUri: `${scheme}://${host}/api/v1/service/${service}/swagger.json`,
    };
  }

  /** The compute a GPU replica reported in its readiness log line (the log's start, where that line is). */
  private async readinessCompute(pod: string): Promise<ComputeProvider | undefined> {
    const text = await this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, limitBytes: 256 * 1024 }).catch(() => "");
    return computeFromLog(text);
  }

  async logs(service: string, tail: number): Promise<string> {
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABELS.service}=${service}` });
    if (pods.items.length === 0) throw new CliError(`service '${service}' has no pods`);
    const parts = await Promise.all(
      pods.items.map(async (p) => {
        const name = p.metadata?.name ?? "";
        const text = await this.core.readNamespacedPodLog({ name, namespace: this.namespace, tailLines: tail }).catch((err: Error) => `(no logs: ${err.message})`);
        return `==> ${name} <==\n${text}`;
      }),
    );
    return parts.join("\n");
  }

  async keys(service: string): Promise<ServiceKeys> {
    const secret = await this.core.readNamespacedSecret({ name: keySecretName(service), namespace: this.namespace }).catch(() => {
      throw new CliError(`service '${service}' has no key Secret (is it using key auth?)`);
    });
    const keys = keysFromSecretData(secret.data);
    if (!keys) throw new CliError(`the key Secret of service '${service}' lacks ${KEY_FIELDS.primary} or ${KEY_FIELDS.secondary}`);
    return keys;
  }

  async regenKey(service: string, key: KeyName): Promise<ServiceKeys> {
    const current = await this.keys(service);
    const next = { ...current, [KEY_FIELDS[key]]: generateKey() };
    await this.core.patchNamespacedSecret(
      { name: keySecretName(service), namespace: this.namespace, body: { stringData: { [KEY_FIELDS[key]]: next[KEY_FIELDS[key]] } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    return next;
  }

  async token(service: string): Promise<MintedToken> {
    const settings = await this.settings(service);
    if (settings.authMode !== "token") throw new CliError(`service '${service}' uses ${settings.authMode} auth; tokens are for token-auth services`);
    const secret = await this.core.readNamespacedSecret({ name: TOKEN_SIGNING_SECRET, namespace: this.namespace }).catch(() => {
      throw new CliError(`no built-in token issuer in this cluster (Secret ${TOKEN_SIGNING_SECRET}); with an OIDC issuer get tokens from it (e.g. az account get-access-token)`);
    });
    const signingKey = Buffer.from(secret.data?.[TOKEN_SIGNING_FIELD] ?? "", "base64").toString("utf8");
    return mintToken({ signingKey, audience: settings.tokenAudience, subject: "aks-inference-cli" });
  }
}
