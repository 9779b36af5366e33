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
  ROLE_MODEL,
  ROUTER_NAME,
  SETTINGS_ANNOTATION,
  TOKEN_SIGNING_FIELD,
  TOKEN_SIGNING_SECRET,
  keySecretName,
  modelDeploymentName,
  type KeyName,
} from "../core/naming";
import { crashLoopReason, type LastExit } from "../core/crashLoop";
import { computeFromLog, type ComputeProvider } from "../core/gpu";
import { parseRoutingSettings, type ServiceRoutingSettings } from "../core/routingSettings";
import type { ServiceDescription } from "../local/admin";
import { combineVersions, serviceState, type ReplicaInfo, type ServiceStatus } from "../core/serviceState";
import { parseTrafficArgs, sharesOf, type TrafficSplit } from "../core/versions";
import { CliError, type Backend } from "./backends";

/** The backend for the cluster a kubeconfig file points at. */
export function kubernetesBackend(kubeconfig: string, namespace: string): KubernetesBackend {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return new KubernetesBackend(kc, namespace);
}

/** How a container's previous run ended, in local mode's terms: its exit code, and its termination message or reason. */
function lastExitOf(t: k8s.V1ContainerStateTerminated | undefined): LastExit | undefined {
  if (!t) return undefined;
  // "Error" says nothing the exit code does not; OOMKilled, ContainerCannotRun and the like do.
  const message = [t.reason && t.reason !== "Error" ? t.reason : undefined, t.message?.trim() || undefined].filter(Boolean).join(": ") || t.reason;
  const at = t.finishedAt ? new Date(t.finishedAt) : undefined;
  const ranMs = at && t.startedAt ? at.getTime() - new Date(t.startedAt).getTime() : undefined;
  return { code: t.exitCode, signal: null, ...(message ? { message } : {}), at: (at ?? new Date(0)).toISOString(), ...(ranMs !== undefined ? { ranMs } : {}) };
}

/**
 * A pod's replica status, in local mode's terms, with Kubernetes' restart count and last
 * termination; `now` dates that termination ("12 s ago").
 */
export function podStatus(pod: k8s.V1Pod, now: number): Pick<ReplicaInfo, "status" | "reason" | "restarts" | "lastExit" | "crashLoop"> {
  const cs = pod.status?.containerStatuses?.[0];
  const restarts = cs?.restartCount ?? 0;
  const terminated = cs?.lastState?.terminated ?? cs?.state?.terminated;
  const lastExit = lastExitOf(terminated);
  const history = { restarts, ...(lastExit ? { lastExit } : {}) };
  if (pod.metadata?.deletionTimestamp) return { status: "stopping", ...history };
  if (terminated?.exitCode === 3) return { status: "failed", reason: terminated.message ?? "init() failed (see logs)", ...history };
  const waiting = cs?.state?.waiting?.reason;
  const running = cs?.state?.running?.startedAt;
  const loop = crashLoopReason({ waiting: waiting === "CrashLoopBackOff", restarts, lastExit, runningSinceMs: running ? new Date(running).getTime() : undefined }, now);
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  if (waiting === "CrashLoopBackOff" || waiting === "ImagePullBackOff" || waiting === "ErrImagePull") {
    return { status: "crashed", reason: loop ?? `${waiting}: ${cs?.state?.waiting?.message ?? terminated?.message ?? ""}`.trim(), ...history, ...(loop ? { crashLoop: true } : {}) };
  }
  if (loop) return { status: ready ? "ready" : "starting", reason: loop, ...history, crashLoop: true };
  if (ready) return { status: "ready", ...history };
  const unschedulable = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  return { status: "starting", reason: unschedulable ? `unschedulable: ${unschedulable.message ?? ""}` : undefined, ...history };
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

  /** The service's model Services: one per version (one for a service without versions). */
  private async versionServices(service: string): Promise<{ version?: string; name: string; settings: ServiceRoutingSettings }[]> {
    const list = await this.core.listNamespacedService({ namespace: this.namespace, labelSelector: `${LABELS.role}=${ROLE_MODEL},${LABELS.service}=${service}` });
    if (list.items.length === 0) throw new CliError(`service '${service}' does not exist in namespace '${this.namespace}'`);
    return list.items.map((svc) => {
      try {
        const settings = parseRoutingSettings(svc.metadata?.annotations?.[SETTINGS_ANNOTATION], svc.metadata?.labels?.[LABELS.service], `service '${service}'`);
        return { version: svc.metadata?.labels?.[LABELS.version], name: svc.metadata?.name ?? "", settings };
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    });
  }

  /** One version's replicas and state (the implicit version's: the whole service's). */
  private async versionStatus(service: string, version: string | undefined): Promise<ServiceStatus> {
    const deployment = await this.apps.readNamespacedDeployment({ name: modelDeploymentName(service, version), namespace: this.namespace });
    const selector = `${LABELS.service}=${service}${version ? `,${LABELS.version}=${version}` : ""}`;
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector });
    const now = Date.now();
    const replicas: ReplicaInfo[] = await Promise.all(
      pods.items.map(async (p) => {
        const info: ReplicaInfo = {
          id: p.metadata?.name ?? "",
          url: p.status?.podIP ? `http://${p.status.podIP}` : "",
          startedAt: p.status?.startTime ? new Date(p.status.startTime).toISOString() : "",
          ...podStatus(p, now),
        };
        return info.status === "ready" && requestsGpu(p) ? { ...info, gpu: await this.readinessCompute(info.id) } : info;
      }),
    );
    const desired = deployment.spec?.replicas ?? 0;
    return { name: service, desired, ready: replicas.filter((r) => r.status === "ready").length, replicas, ...serviceState(desired, replicas) };
  }

  async describe(service: string): Promise<ServiceDescription> {
    const versions = await this.versionServices(service);
    const declared = versions.filter((v) => v.version !== undefined);
    const status = declared.length
      ? combineVersions(
          service,
          await Promise.all(declared.map(async (v) => ({ ...(await this.versionStatus(service, v.version)), version: v.version!, traffic: v.settings.version?.traffic ?? 0, mirrorPercent: v.settings.version?.mirrorPercent ?? 0 }))),
        )
      : await this.versionStatus(service, undefined);
    const router = await this.core.readNamespacedService({ name: ROUTER_NAME, namespace: this.namespace }).catch(() => undefined);
    const ingress = router?.status?.loadBalancer?.ingress?.[0];
    const host = router?.metadata?.annotations?.[ROUTER_HOST_ANNOTATION] ?? ingress?.hostname ?? ingress?.ip ?? "<pending>";
    const scheme = router?.spec?.ports?.some((p) => p.port === 443) ? "https" : "http";
    return {
      ...status,
      authMode: versions[0].settings.authMode,
      scoringUri: `${scheme}://${host}/api/v1/service/${service}/score`,
      swaggerUri: `${scheme}://${host}/api/v1/service/${service}/swagger.json`,
    };
  }

  /**
   * Changes the split of a service with versions on the cluster: each version's Service carries
   * its own shares in its routing settings, which the router watches. Shares that go down are
   * written first, so that while the change is half-applied no version gets more than asked.
   */
  async traffic(service: string, shares: string[], mirror?: string): Promise<TrafficSplit> {
    const versions = (await this.versionServices(service)).filter((v) => v.version !== undefined);
    if (versions.length === 0) throw new CliError(`service '${service}' has no versions: its one version takes all traffic`);
    let split: TrafficSplit;
    try {
      split = parseTrafficArgs(service, versions.map((v) => v.version!), shares, mirror);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    const change = (v: (typeof versions)[number]) => sharesOf(split, v.version!).traffic - (v.settings.version?.traffic ?? 0);
    for (const v of [...versions].sort((a, b) => change(a) - change(b))) {
      const settings: ServiceRoutingSettings = { ...v.settings, version: { name: v.version!, ...sharesOf(split, v.version!) } };
      await this.core.patchNamespacedService(
        { name: v.name, namespace: this.namespace, body: { metadata: { annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings) } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    }
    return split;
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
    // Auth is the service's: every version's settings carry the same.
    const [{ settings }] = await this.versionServices(service);
    if (settings.authMode !== "token") throw new CliError(`service '${service}' uses ${settings.authMode} auth; tokens are for token-auth services`);
    const secret = await this.core.readNamespacedSecret({ name: TOKEN_SIGNING_SECRET, namespace: this.namespace }).catch(() => {
      throw new CliError(`no built-in token issuer in this cluster (Secret ${TOKEN_SIGNING_SECRET}); with an OIDC issuer get tokens from it (e.g. az account get-access-token)`);
    });
    const signingKey = Buffer.from(secret.data?.[TOKEN_SIGNING_FIELD] ?? "", "base64").toString("utf8");
    return mintToken({ signingKey, audience: settings.tokenAudience, subject: "aks-inference-cli" });
  }
}
