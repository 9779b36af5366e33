/**
 * The CLI's cluster backend: the Kubernetes API through a kubeconfig. Kept apart from the local
 * backend because @kubernetes/client-node is most of the CLI's weight (4 of its 6 MB bundled):
 * the CLI loads this module only for a cluster, so commands against local mode start fast.
 * Every API call goes through `api()`, which turns the client's errors into what the user can do
 * about them (cli/kubeErrors.ts); a 404 that means something (no such service, no key Secret) is
 * answered by the call that knows what it means.
 */
import { existsSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { createInterface } from "node:readline";
import * as k8s from "@kubernetes/client-node";
import { generateKey, keysFromSecretData, mintToken, type MintedToken, type ServiceKeys } from "../core/decisions/auth";
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
} from "../core/contracts/naming";
import { crashLoopReason, type LastExit } from "../core/decisions/crashLoop";
import { computeFromLog, type ComputeProvider } from "../core/decisions/gpu";
import { parseRoutingSettings, type ServiceRoutingSettings } from "../core/contracts/routingSettings";
import type { ServiceDescription } from "../local/admin";
import { combineVersions, serviceState, type ReplicaInfo, type ServiceStatus } from "../core/decisions/serviceState";
import { parseTrafficArgs, sharesOf, type TrafficSplit } from "../core/decisions/versions";
import { CliError, type Backend, type LogSink } from "./backends";
import { ApiStatusError, apiStatus, clusterError, credentialError, type ApiOperation, type ClusterContext } from "./kubeErrors";
import type { LogQuery } from "./logs";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from "./target";

export interface ClusterOptions {
  /** Kubeconfig files merged in order. */
  files: string[];
  /** Where the files came from, for messages (`--kubeconfig x`, `KUBECONFIG=...`). */
  source: string;
  context?: string;
  namespace: string;
  requestTimeoutSeconds?: number;
}

/** Kubeconfig files merged as kubectl merges them: missing files skipped, the first definition of a name (and the first current context) kept. */
function loadKubeConfig(files: string[], source: string): k8s.KubeConfig {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) throw new CliError(`no kubeconfig: ${source} names no file that exists`);
  const kc = new k8s.KubeConfig();
  for (const file of present) {
    const next = new k8s.KubeConfig();
    try {
      next.loadFromFile(file);
    } catch (err) {
      throw new CliError(`cannot read the kubeconfig ${file}: ${(err as Error).message}`);
    }
    for (const c of next.clusters) if (!kc.getCluster(c.name)) kc.addCluster(c);
    for (const u of next.users) if (!kc.getUser(u.name)) kc.addUser(u);
    for (const c of next.contexts) if (!kc.getContextObject(c.name)) kc.addContext(c);
    if (!kc.currentContext) kc.setCurrentContext(next.currentContext);
  }
  return kc;
}

/** The backend for the cluster of a kubeconfig's context (its current one unless `context` names another). */
export function kubernetesBackend(o: ClusterOptions): KubernetesBackend {
  const kc = loadKubeConfig(o.files, o.source);
  const contexts = kc.getContexts().map((c) => `'${c.name}'`).join(", ") || "none";
  if (o.context) {
    if (!kc.getContextObject(o.context)) throw new CliError(`context '${o.context}' is not in ${o.source} (its contexts: ${contexts})`);
    kc.setCurrentContext(o.context);
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  if (!context) throw new CliError(`${o.source} has no current context: pass --context <name> (its contexts: ${contexts})`);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError(`context '${context.name}' names cluster '${context.cluster}', which is not in ${o.source}`);
  return new KubernetesBackend(kc, o.namespace, { requestTimeoutSeconds: o.requestTimeoutSeconds, label: `cluster ${cluster.server} (context '${context.name}' of ${o.source})` });
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


/** The container whose log is the replica's: the scoring server's (the stack names it `scoring`). */
function logContainer(pod: k8s.V1Pod): string | undefined {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  return names.includes("scoring") ? "scoring" : names[0];
}

/** A model service's Kubernetes Service: one per version (one for a service without versions). */
interface VersionService {
  version?: string;
  name: string;
  settings: ServiceRoutingSettings;
}

/** An API error to answer in place of failing: `codes` it covers, `with` the value (or error) to give instead. */
interface Recovery<R> {
  codes: number[];
  with: (status: { code: number; message?: string }) => R;
}

export class KubernetesBackend implements Backend {
  readonly label: string;
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly ctx: ClusterContext;
  private readonly timeoutSeconds: number;
  /** Credentials got once, before the first request (so a failing kubelogin is named as such). */
  private signedIn?: Promise<void>;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly namespace = DEFAULT_NAMESPACE,
    opts: { requestTimeoutSeconds?: number; label?: string } = {},
  ) {
    const server = kc.getCurrentCluster()?.server ?? "";
    const exec = (kc.getCurrentUser()?.exec as { command?: unknown } | undefined)?.command;
    this.ctx = { server, namespace, ...(typeof exec === "string" ? { execCommand: exec } : {}) };
    this.label = opts.label ?? `cluster ${server}`;
    this.timeoutSeconds = opts.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
    // The kubeconfig's authentication, plus a deadline: without one a request to an API server
    // that drops packets (a private cluster seen from outside) waits for the OS, minutes.
    const timeoutMs = this.timeoutSeconds * 1000;
    const config = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(server, {}),
      authMethods: {
        default: {
          getName: () => "kubeconfig",
          applySecurityAuthentication: async (request) => {
            await kc.applySecurityAuthentication(request);
            request.setSignal(AbortSignal.timeout(timeoutMs));
          },
        },
      },
    });
    this.core = new k8s.CoreV1Api(config);
    this.apps = new k8s.AppsV1Api(config);
  }

  /** One API call; its failure becomes a CliError saying what to do, unless `recover` answers it. */
  private async api<T, R = never>(op: ApiOperation, call: () => Promise<T>, recover?: Recovery<R>): Promise<T | R> {
    this.signedIn ??= this.kc.applyToHTTPSOptions({}).catch((err: unknown) => {
      throw credentialError(err, this.ctx);
    });
    await this.signedIn;
    try {
      return await call();
    } catch (err) {
      const status = apiStatus(err);
      if (recover && status && recover.codes.includes(status.code)) return recover.with(status);
      throw clusterError(err, op, this.ctx, this.timeoutSeconds);
    }
  }

  private listModelServices(selector: string): Promise<k8s.V1ServiceList> {
    return this.api({ verb: "list", resource: "services" }, () => this.core.listNamespacedService({ namespace: this.namespace, labelSelector: selector }));
  }

  private async listPods(selector: string): Promise<k8s.V1Pod[]> {
    return (await this.api({ verb: "list", resource: "pods" }, () => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector }))).items;
  }

  /** The router's Service (its load balancer and host), if the namespace has one. */
  private router(): Promise<k8s.V1Service | undefined> {
    return this.api({ verb: "get", resource: "services" }, () => this.core.readNamespacedService({ name: ROUTER_NAME, namespace: this.namespace }), { codes: [404], with: () => undefined });
  }

  private parseVersions(service: string, items: k8s.V1Service[]): VersionService[] {
    return items.map((svc) => {
      try {
        const settings = parseRoutingSettings(svc.metadata?.annotations?.[SETTINGS_ANNOTATION], svc.metadata?.labels?.[LABELS.service], `service '${service}'`);
        return { version: svc.metadata?.labels?.[LABELS.version], name: svc.metadata?.name ?? "", settings };
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    });
  }

  /** The service's model Services; a service that has none does not exist. */
  private async versionServices(service: string): Promise<VersionService[]> {
    const list = await this.listModelServices(`${LABELS.role}=${ROLE_MODEL},${LABELS.service}=${service}`);
    if (list.items.length === 0) throw await this.notFound(service);
    return this.parseVersions(service, list.items);
  }

  /** "service X not found in namespace N", with the services that are there. */
  private async notFound(service: string): Promise<CliError> {
    const all = await this.listModelServices(`${LABELS.role}=${ROLE_MODEL}`);
    const names = [...new Set(all.items.map((s) => s.metadata?.labels?.[LABELS.service]).filter((n): n is string => !!n))].sort();
    const there = names.length > 0 ? ` (its services: ${names.join(", ")})` : ": it has no model services (is --namespace right, and is this the stack's cluster?)";
    return new CliError(`service '${service}' not found in namespace '${this.namespace}'${there}`);
  }

  /** Replicas of a set of pods, in local mode's terms; ready GPU replicas with the compute they got. */
  private async replicasOf(pods: k8s.V1Pod[]): Promise<ReplicaInfo[]> {
    const now = Date.now();
    return Promise.all(
      pods.map(async (p) => {
        const info: ReplicaInfo = {
          id: p.metadata?.name ?? "",
          url: p.status?.podIP ? `http://${p.status.podIP}` : "",
          startedAt: p.status?.startTime ? new Date(p.status.startTime).toISOString() : "",
          ...podStatus(p, now),
        };
        return info.status === "ready" && requestsGpu(p) ? { ...info, gpu: await this.readinessCompute(info.id) } : info;
      }),
    );
  }

  /** One version's state (the implicit version's: the whole service's) from the service's pods. */
  private async versionStatus(service: string, version: string | undefined, pods: k8s.V1Pod[], desired: number): Promise<ServiceStatus> {
    const replicas = await this.replicasOf(pods.filter((p) => version === undefined || p.metadata?.labels?.[LABELS.version] === version));
    return { name: service, desired, ready: replicas.filter((r) => r.status === "ready").length, replicas, ...serviceState(desired, replicas) };
  }

  /**
   * A service's description from what the cluster holds: its Services, its pods, `desired` (the
   * replicas a Deployment asks for) and the router's Service for the URIs. `describe` and `list`
   * both come here, so a service's state is the same in both.
   */
  private async assemble(service: string, versions: VersionService[], pods: k8s.V1Pod[], desired: (deployment: string) => Promise<number>, router: k8s.V1Service | undefined): Promise<ServiceDescription> {
    const declared = versions.filter((v): v is VersionService & { version: string } => v.version !== undefined);
    const status = declared.length
      ? combineVersions(
          service,
          await Promise.all(
            declared.map(async (v) => ({
              ...(await this.versionStatus(service, v.version, pods, await desired(modelDeploymentName(service, v.version)))),
              version: v.version,
              traffic: v.settings.version?.traffic ?? 0,
              mirrorPercent: v.settings.version?.mirrorPercent ?? 0,
            })),
          ),
        )
      : await this.versionStatus(service, undefined, pods, await desired(modelDeploymentName(service)));
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

  async describe(service: string): Promise<ServiceDescription> {
    const versions = await this.versionServices(service);
    const [pods, router] = await Promise.all([this.listPods(`${LABELS.service}=${service}`), this.router()]);
    // A Deployment not there (yet): no replicas asked for.
    const desired = (name: string) =>
      this.api({ verb: "get", resource: "deployments" }, async () => (await this.apps.readNamespacedDeployment({ name, namespace: this.namespace })).spec?.replicas ?? 0, { codes: [404], with: () => 0 });
    return this.assemble(service, versions, pods, desired, router);
  }

  /** Every model service in the namespace, from four requests however many there are. */
  async list(): Promise<ServiceDescription[]> {
    const [services, deployments, pods, router] = await Promise.all([
      this.listModelServices(`${LABELS.role}=${ROLE_MODEL}`),
      this.api({ verb: "list", resource: "deployments" }, () => this.apps.listNamespacedDeployment({ namespace: this.namespace })),
      this.listPods(LABELS.service),
      this.router(),
    ]);
    const desired = new Map(deployments.items.map((d) => [d.metadata?.name ?? "", d.spec?.replicas ?? 0]));
    const byService = new Map<string, k8s.V1Service[]>();
    for (const svc of services.items) {
      const name = svc.metadata?.labels?.[LABELS.service];
      if (name) byService.set(name, [...(byService.get(name) ?? []), svc]);
    }
    return Promise.all(
      [...byService].sort(([a], [b]) => a.localeCompare(b)).map(([name, items]) => this.assemble(name, this.parseVersions(name, items), pods.filter((p) => p.metadata?.labels?.[LABELS.service] === name), async (d) => desired.get(d) ?? 0, router)),
    );
  }

  /**
   * Changes the split of a service with versions on the cluster: each version's Service carries
   * its own shares in its routing settings, which the router watches. Shares that go down are
   * written first, so that while the change is half-applied no version gets more than asked.
   */
  async traffic(service: string, shares: string[], mirror?: string): Promise<TrafficSplit> {
    const versions = (await this.versionServices(service)).filter((v): v is VersionService & { version: string } => v.version !== undefined);
    if (versions.length === 0) throw new CliError(`service '${service}' has no versions: its one version takes all traffic`);
    let split: TrafficSplit;
    try {
      split = parseTrafficArgs(service, versions.map((v) => v.version), shares, mirror);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    const change = (v: (typeof versions)[number]) => sharesOf(split, v.version).traffic - (v.settings.version?.traffic ?? 0);
    for (const v of [...versions].sort((a, b) => change(a) - change(b))) {
      const settings: ServiceRoutingSettings = { ...v.settings, version: { name: v.version, ...sharesOf(split, v.version) } };
      await this.api({ verb: "patch", resource: "services" }, () =>
        this.core.patchNamespacedService(
          { name: v.name, namespace: this.namespace, body: { metadata: { annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings) } } } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        ),
      );
    }
    return split;
  }

  /** The compute a GPU replica reported in its readiness log line (the log's start, where that line is). */
  private async readinessCompute(pod: string): Promise<ComputeProvider | undefined> {
    const text = await this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, limitBytes: 256 * 1024 }).catch(() => "");
    return computeFromLog(text);
  }

  /** The service's pods, or the one `replica` names. */
  private async podsFor(service: string, replica: string | undefined): Promise<k8s.V1Pod[]> {
    const pods = await this.listPods(`${LABELS.service}=${service}`);
    if (pods.length === 0) {
      await this.versionServices(service); // a service that does not exist says so
      throw new CliError(`service '${service}' has no replicas (pods) in namespace '${this.namespace}'; \`aks-inference state ${service}\` says why`);
    }
    if (replica === undefined) return pods;
    const one = pods.filter((p) => p.metadata?.name === replica);
    if (one.length === 0) throw new CliError(`service '${service}' has no replica '${replica}' (its replicas: ${pods.map((p) => p.metadata?.name).join(", ")})`);
    return one;
  }

  /** A pod's log request answered for that pod alone (not started yet, no previous run, gone): said in its place. */
  private static readonly POD_PROBLEM: Recovery<string> = { codes: [400, 404], with: (s) => `(no logs: ${s.message ?? `the API server answered ${s.code}`})` };

  async logs(service: string, q: LogQuery): Promise<string> {
    const pods = await this.podsFor(service, q.replica);
    const parts = await Promise.all(
      pods.map(async (p) => {
        const name = p.metadata?.name ?? "";
        const text = await this.api(
          { verb: "get", resource: "pods/log" },
          () => this.core.readNamespacedPodLog({ name, namespace: this.namespace, container: logContainer(p), tailLines: q.tail, sinceSeconds: q.sinceSeconds, previous: q.previous }),
          KubernetesBackend.POD_PROBLEM,
        );
        return `==> ${name} <==\n${text}`;
      }),
    );
    return parts.join("\n");
  }

  async follow(service: string, q: LogQuery, onLine: LogSink): Promise<void> {
    const pods = await this.podsFor(service, q.replica);
    await Promise.all(pods.map((p) => this.streamLog(p, q, (line) => onLine(p.metadata?.name ?? "", line))));
  }

  /**
   * One pod's log with follow=true, line by line until the container stops (the API server then
   * ends the answer). The client's own Log class neither reports a stream that breaks nor gives
   * the API server's message for a refusal; this request does both.
   */
  private async streamLog(pod: k8s.V1Pod, q: LogQuery, onLine: (line: string) => void): Promise<void> {
    const name = pod.metadata?.name ?? "";
    const url = new URL(`${this.ctx.server.replace(/\/+$/, "")}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods/${encodeURIComponent(name)}/log`);
    const container = logContainer(pod);
    const params: Record<string, string | undefined> = { follow: "true", tailLines: String(q.tail), container, sinceSeconds: q.sinceSeconds?.toString(), previous: q.previous ? "true" : undefined };
    for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
    const op: ApiOperation = { verb: "get", resource: "pods/log" };
    const answered = await this.api(op, async () => {
      const options: https.RequestOptions = {};
      await this.kc.applyToHTTPSOptions(options);
      await new Promise<void>((resolve, reject) => {
        const req = (url.protocol === "https:" ? https : http).request(url, { ...options, method: "GET" }, (res) => {
          clearTimeout(deadline);
          res.on("error", reject);
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => reject(new ApiStatusError(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))));
            return;
          }
          const lines = createInterface({ input: res, crlfDelay: Infinity });
          lines.on("line", onLine);
          lines.on("close", () => resolve());
        });
        // Until the answer starts, as long as any API request; a followed log then stays open as long as the replica runs.
        const deadline = setTimeout(() => req.destroy(Object.assign(new Error("no answer"), { name: "AbortError" })), this.timeoutSeconds * 1000);
        req.on("error", (err) => {
          clearTimeout(deadline);
          reject(err);
        });
        req.end();
      });
    }, KubernetesBackend.POD_PROBLEM);
    if (typeof answered === "string") onLine(answered);
  }

  async keys(service: string): Promise<ServiceKeys> {
    // Auth is the service's: every version's settings carry the same.
    const [{ settings }] = await this.versionServices(service);
    if (settings.authMode === "token") throw new CliError(`service '${service}' uses token auth: it has no keys (\`aks-inference token ${service}\` gets a token)`);
    if (settings.authMode !== "key") throw new CliError(`service '${service}' uses no auth: it has no keys (its scoring URI takes requests without one)`);
    const name = keySecretName(service);
    const secret = await this.api({ verb: "get", resource: "secrets" }, () => this.core.readNamespacedSecret({ name, namespace: this.namespace }), {
      codes: [404],
      with: () => {
        throw new CliError(`the key Secret '${name}' of service '${service}' is missing from namespace '${this.namespace}' (\`pulumi up\` creates it)`);
      },
    });
    const keys = keysFromSecretData(secret.data);
    if (!keys) throw new CliError(`the key Secret of service '${service}' lacks ${KEY_FIELDS.primary} or ${KEY_FIELDS.secondary}`);
    return keys;
  }

  async regenKey(service: string, key: KeyName): Promise<ServiceKeys> {
    const current = await this.keys(service);
    const next = { ...current, [KEY_FIELDS[key]]: generateKey() };
    await this.api({ verb: "patch", resource: "secrets" }, () =>
      this.core.patchNamespacedSecret(
        { name: keySecretName(service), namespace: this.namespace, body: { stringData: { [KEY_FIELDS[key]]: next[KEY_FIELDS[key]] } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      ),
    );
    return next;
  }

  async token(service: string): Promise<MintedToken> {
    const [{ settings }] = await this.versionServices(service);
    if (settings.authMode !== "token") throw new CliError(`service '${service}' uses ${settings.authMode} auth; tokens are for token-auth services`);
    const secret = await this.api({ verb: "get", resource: "secrets" }, () => this.core.readNamespacedSecret({ name: TOKEN_SIGNING_SECRET, namespace: this.namespace }), {
      codes: [404],
      with: () => {
        throw new CliError(`no built-in token issuer in this cluster (Secret ${TOKEN_SIGNING_SECRET}); with an OIDC issuer get tokens from it (e.g. az account get-access-token)`);
      },
    });
    const signingKey = Buffer.from(secret.data?.[TOKEN_SIGNING_FIELD] ?? "", "base64").toString("utf8");
    return mintToken({ signingKey, audience: settings.tokenAudience, subject: "aks-inference-cli" });
  }
}
