/**
 * The router's seams on a cluster: discovery by watching model Services and their
 * EndpointSlices (informers: watch, never poll), keys by watching key Secrets, scaling through
 * a Deployment's scale subresource, and a Lease-elected coordinator that gathers the load all
 * router pods report. The translation from Kubernetes objects is pure and tested directly.
 */
import * as k8s from "@kubernetes/client-node";
import { request } from "undici";
import type { Logger } from "pino";
import { keysFromSecretData, type ServiceKeys } from "../core/decisions/auth";
import { LABELS, ROLE_MODEL, ROLE_ROUTER, ROUTER_LEASE, SETTINGS_ANNOTATION, modelDeploymentName } from "../core/contracts/naming";
import { parseRoutingSettings, type ServiceRoutingSettings } from "../core/contracts/routingSettings";
import { parseUnit, unitOf } from "../core/decisions/versions";
import type { Coordinator, Discovery, KeyStore, Replica, Scaler, ServiceLoad, ServiceView } from "./types";

/** Ready endpoints of an EndpointSlice as replicas (terminating ones get no new requests). */
export function replicasOf(slice: k8s.V1EndpointSlice): Replica[] {
  const port = slice.ports?.find((p) => p.name === "http")?.port ?? slice.ports?.[0]?.port;
  if (!port) return [];
  return (slice.endpoints ?? [])
    .filter((e) => e.conditions?.ready === true && e.conditions?.terminating !== true && e.addresses.length > 0)
    .map((e) => {
      const address = e.addresses[0];
      const host = address.includes(":") ? `[${address}]` : address;
      return { id: e.targetRef?.name ?? address, url: `http://${host}:${port}` };
    });
}

/** The routing settings a model Service carries; throws with the reason when they are unusable. */
export function settingsOf(svc: k8s.V1Service): ServiceRoutingSettings {
  return parseRoutingSettings(svc.metadata?.annotations?.[SETTINGS_ANNOTATION], svc.metadata?.labels?.[LABELS.service], `Service ${svc.metadata?.name}`);
}

export function keysOf(secret: k8s.V1Secret): ServiceKeys | undefined {
  return keysFromSecretData(secret.data);
}

function watchInformer<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  labelSelector: string,
  onEvent: (type: "add" | "update" | "delete", obj: T) => void,
  log: Logger,
): k8s.Informer<T> {
  const informer = k8s.makeInformer<T>(kc, path, list, labelSelector);
  informer.on("add", (o) => onEvent("add", o));
  informer.on("update", (o) => onEvent("update", o));
  informer.on("delete", (o) => onEvent("delete", o));
  // The informer stops on a watch error; restart after a pause (the API server may be restarting).
  informer.on("error", (err: unknown) => {
    log.warn({ path, err: String(err) }, "watch failed; restarting in 2 s");
    setTimeout(() => void informer.start(), 2_000);
  });
  return informer;
}

/** The unit key (core/decisions/versions.ts) of a model Service or its EndpointSlice, from its labels. */
function unitOfLabels(labels: Record<string, string> | undefined): string | undefined {
  const service = labels?.[LABELS.service];
  return service && unitOf(service, labels?.[LABELS.version]);
}

export class KubernetesDiscovery implements Discovery {
  private readonly settings = new Map<string, ServiceRoutingSettings>();
  /** Replicas per service, per EndpointSlice (a Service may have several slices). */
  private readonly slices = new Map<string, Map<string, Replica[]>>();
  private readonly view = new Map<string, ServiceView>();
  private readonly listeners: ((service: string) => void)[] = [];
  private readonly informers: k8s.Informer<k8s.KubernetesObject>[];

  constructor(kc: k8s.KubeConfig, namespace: string, private readonly log: Logger) {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const selector = `${LABELS.role}=${ROLE_MODEL}`;
    this.informers = [
      watchInformer<k8s.V1Service>(kc, `/api/v1/namespaces/${namespace}/services`, () => core.listNamespacedService({ namespace, labelSelector: selector }), selector, (type, svc) => this.onService(type, svc), log),
      watchInformer<k8s.V1EndpointSlice>(
        kc,
        `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector: selector }),
        selector,
        (type, slice) => this.onSlice(type, slice),
        log,
      ),
    ] as k8s.Informer<k8s.KubernetesObject>[];
  }

  private onService(type: "add" | "update" | "delete", svc: k8s.V1Service): void {
    const name = unitOfLabels(svc.metadata?.labels);
    if (!name) return;
    if (type === "delete") this.settings.delete(name);
    else {
      try {
        this.settings.set(name, settingsOf(svc));
      } catch (err) {
        this.log.error({ service: name, err: (err as Error).message }, "ignoring model service with invalid settings");
        return;
      }
    }
    this.refresh(name);
  }

  private onSlice(type: "add" | "update" | "delete", slice: k8s.V1EndpointSlice): void {
    // An EndpointSlice carries its Service's labels.
    const name = unitOfLabels(slice.metadata?.labels);
    const sliceName = slice.metadata?.name;
    if (!name || !sliceName) return;
    const perSlice = this.slices.get(name) ?? new Map<string, Replica[]>();
    if (type === "delete") perSlice.delete(sliceName);
    else perSlice.set(sliceName, replicasOf(slice));
    this.slices.set(name, perSlice);
    this.refresh(name);
  }

  private refresh(name: string): void {
    const settings = this.settings.get(name);
    if (!settings) this.view.delete(name);
    else this.view.set(name, { settings, replicas: [...(this.slices.get(name)?.values() ?? [])].flat() });
    for (const l of this.listeners) l(name);
  }

  services(): ReadonlyMap<string, ServiceView> {
    return this.view;
  }
  onChange(listener: (service: string) => void): void {
    this.listeners.push(listener);
  }
  async ready(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }
  async close(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

/** Keys from the model services' key Secrets, updated as the Secrets change (regen-key). */
export class KubernetesKeyStore implements KeyStore {
  private readonly keys = new Map<string, ServiceKeys>();
  private readonly informer: k8s.Informer<k8s.V1Secret>;

  constructor(kc: k8s.KubeConfig, namespace: string, log: Logger) {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const selector = LABELS.keysFor;
    this.informer = watchInformer<k8s.V1Secret>(
      kc,
      `/api/v1/namespaces/${namespace}/secrets`,
      () => core.listNamespacedSecret({ namespace, labelSelector: selector }),
      selector,
      (type, secret) => {
        const service = secret.metadata?.labels?.[LABELS.keysFor];
        if (!service) return;
        const keys = type === "delete" ? undefined : keysOf(secret);
        if (keys) this.keys.set(service, keys);
        else this.keys.delete(service);
      },
      log,
    );
  }

  start(): Promise<void> {
    return this.informer.start();
  }
  get(service: string): ServiceKeys | undefined {
    return this.keys.get(service);
  }
  async close(): Promise<void> {
    await this.informer.stop();
  }
}

/** Sets `spec.replicas` of a model Deployment through its scale subresource. */
export class KubernetesScaler implements Scaler {
  private readonly apps: k8s.AppsV1Api;
  constructor(kc: k8s.KubeConfig, private readonly namespace: string) {
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }
  async setReplicas(unit: string, replicas: number): Promise<void> {
    const { service, version } = parseUnit(unit);
    await this.apps.patchNamespacedDeploymentScale(
      { name: modelDeploymentName(service, version), namespace: this.namespace, body: { spec: { replicas } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  }
}

const LEASE_SECONDS = 15;

/** Whether a lease is free for `me`: unheld, expired, or already mine. */
export function canTakeLease(lease: k8s.V1Lease | undefined, me: string, now: Date): boolean {
  const spec = lease?.spec;
  if (!spec?.holderIdentity || spec.holderIdentity === me) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return now.getTime() - renewed > (spec.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
}

/**
 * Leader election with a coordination.k8s.io Lease: the holder renews every few seconds; when it
 * dies another pod takes over after the lease expires. The leader sums the load of all router
 * pods, found through the router's own EndpointSlices, from their admin endpoint.
 */
export class LeaseCoordinator implements Coordinator {
  private leader = false;
  /** The lease's holder at the last renewal attempt. */
  private holder: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly coordination: k8s.CoordinationV1Api;
  /** Ready peer pod IPs per router EndpointSlice, kept current by a watch. */
  private readonly peers = new Map<string, string[]>();
  private readonly peerInformer: k8s.Informer<k8s.V1EndpointSlice>;

  constructor(
    kc: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly podName: string,
    private readonly adminPort: number,
    private readonly log: Logger,
  ) {
    this.coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const selector = `${LABELS.role}=${ROLE_ROUTER}`;
    this.peerInformer = watchInformer<k8s.V1EndpointSlice>(
      kc,
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector: selector }),
      selector,
      (type, slice) => {
        const name = slice.metadata?.name ?? "";
        if (type === "delete") this.peers.delete(name);
        else this.peers.set(name, (slice.endpoints ?? []).filter((e) => e.conditions?.ready && e.targetRef?.name !== podName).map((e) => e.addresses[0]));
      },
      log,
    );
    void this.peerInformer.start();
    this.timer = setInterval(() => void this.renew(), 5_000);
    this.timer.unref();
    void this.renew();
  }

  isLeader(): boolean {
    return this.leader;
  }

  leaderPod(): string | undefined {
    return this.holder;
  }

  private async renew(): Promise<void> {
    const now = new Date();
    const spec: k8s.V1LeaseSpec = { holderIdentity: this.podName, leaseDurationSeconds: LEASE_SECONDS, renewTime: now };
    try {
      let lease: k8s.V1Lease | undefined;
      try {
        lease = await this.coordination.readNamespacedLease({ name: ROUTER_LEASE, namespace: this.namespace });
      } catch {
        lease = undefined;
      }
      if (!canTakeLease(lease, this.podName, now)) {
        this.leader = false;
        this.holder = lease?.spec?.holderIdentity;
        return;
      }
      if (!lease) {
        await this.coordination.createNamespacedLease({ namespace: this.namespace, body: { metadata: { name: ROUTER_LEASE }, spec: { ...spec, acquireTime: now } } });
      } else {
        // resourceVersion makes a concurrent take-over by another pod fail instead of both winning.
        await this.coordination.replaceNamespacedLease({ name: ROUTER_LEASE, namespace: this.namespace, body: { ...lease, spec: { ...lease.spec, ...spec } } });
      }
      if (!this.leader) this.log.info({ pod: this.podName }, "became autoscaling coordinator");
      this.leader = true;
      this.holder = this.podName;
    } catch (err) {
      this.leader = false;
      // Whoever holds the lease now is unknown until the next renewal reads it.
      this.holder = undefined;
      this.log.warn({ err: String(err) }, "lease renewal failed");
    }
  }

  async collect(local: Record<string, ServiceLoad>): Promise<Record<string, ServiceLoad>> {
    const total: Record<string, ServiceLoad> = {};
    const add = (loads: Record<string, ServiceLoad>) => {
      for (const [svc, l] of Object.entries(loads)) {
        const t = (total[svc] ??= { inFlight: 0, queued: 0 });
        t.inFlight += l.inFlight;
        t.queued += l.queued;
      }
    };
    add(local);
    await Promise.all(
      [...this.peers.values()].flat().map(async (ip) => {
        try {
          const res = await request(`http://${ip}:${this.adminPort}/internal/load`, { headersTimeout: 200, bodyTimeout: 200 });
          add((await res.body.json()) as Record<string, ServiceLoad>);
        } catch {
          // A peer that does not answer in time is left out of this round only.
        }
      }),
    );
    return total;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.peerInformer.stop();
  }
}
