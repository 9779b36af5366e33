/**
 * A small in-memory Kubernetes API server on 127.0.0.1, speaking the parts of the protocol the
 * router uses: list and watch (chunked JSON event stream, label selectors, resourceVersion) of
 * namespaced collections, get/create/replace with optimistic concurrency, JSON merge patches
 * (a Deployment's scale subresource among them) and pod logs (tail, previous run, follow as a
 * streaming answer). It can also fail as a real one does: RBAC's 403 for chosen verbs and
 * resources, 401 for refused credentials, or no answer at all. The router's real Kubernetes code
 * (@kubernetes/client-node informers and API clients) and the CLI run against it unchanged; no
 * cluster is needed.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

type Event = "ADDED" | "MODIFIED" | "DELETED";

interface Watcher {
  res: http.ServerResponse;
  selector: string | null;
}

/** `a=b,c` (equality and existence terms): the forms the router uses. */
function matches(obj: KubernetesObject, selector: string | null): boolean {
  if (!selector) return true;
  const labels = obj.metadata?.labels ?? {};
  return selector.split(",").every((term) => {
    const [key, value] = term.split("=");
    return value === undefined ? key in labels : labels[key] === value;
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** `/api/v1` or `/apis/<group>/<version>`, namespace, resource, optional name and subresource. */
const RESOURCE_PATH = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

/** A failure as the API server reports it: a `Status` object. */
const failure = (res: http.ServerResponse, code: number, reason: string, message: string) => send(res, code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message });
const notFound = (res: http.ServerResponse, what: string) => failure(res, 404, "NotFound", `${what} not found`);

export interface ScalePatch {
  path: string;
  contentType: string;
  body: unknown;
}

export class FakeApiServer {
  /** collection path → object name → object */
  private readonly store = new Map<string, Map<string, KubernetesObject>>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private version = 1;
  readonly scalePatches: ScalePatch[] = [];
  /** Container log text per pod name (`pods/<name>/log`). */
  readonly logs = new Map<string, string>();
  /** The previous container's log per pod name (`previous=true`); a pod without one answers 400, as Kubernetes does. */
  readonly previousLogs = new Map<string, string>();
  /** The query of every log request, in order (what a client asked the API server to do). */
  readonly logRequests: URLSearchParams[] = [];
  /** `<verb> <resource>` pairs RBAC refuses with 403, e.g. `get secrets`, `list pods`, `get pods/log`, `patch services`. */
  readonly forbidden = new Set<string>();
  /** Every request answered 401: the credentials are refused. */
  rejectCredentials = false;
  /** Connections accepted, requests never answered: an API server behind a firewall that drops them. */
  unresponsive = false;
  /** Open `follow=true` log answers per pod name. */
  private readonly followers = new Map<string, Set<http.ServerResponse>>();
  private server!: http.Server;
  url = "";
  /** The Authorization header of every request, in order (what credential a client used). */
  readonly authorizations: (string | undefined)[] = [];

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.authorizations.push(req.headers.authorization);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A kubeconfig for this server, as a router pod would get one. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "router", token: "test-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "router" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** Creates or replaces an object in a collection and tells the watchers. */
  apply<T extends KubernetesObject>(collection: string, obj: T): void {
    const items = this.collection(collection);
    const name = obj.metadata?.name ?? "";
    const event: Event = items.has(name) ? "MODIFIED" : "ADDED";
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.version) } };
    items.set(name, stored);
    this.notify(collection, event, stored);
  }

  remove(collection: string, name: string): void {
    const obj = this.collection(collection).get(name);
    if (!obj) return;
    this.collection(collection).delete(name);
    this.notify(collection, "DELETED", { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.version) } });
  }

  get(collection: string, name: string): KubernetesObject | undefined {
    return this.collection(collection).get(name);
  }

  /** A line written by a pod's container: in its log, and to every client following it. */
  appendLog(pod: string, line: string): void {
    const current = this.logs.get(pod);
    this.logs.set(pod, current ? `${current}\n${line}` : line);
    for (const res of this.followers.get(pod) ?? []) res.write(`${line}\n`);
  }

  /** The pod's container stopped: answers following its log end. */
  endLog(pod: string): void {
    for (const res of this.followers.get(pod) ?? []) res.end();
    this.followers.delete(pod);
  }

  async close(): Promise<void> {
    for (const set of this.watchers.values()) for (const w of set) w.res.end();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private collection(path: string): Map<string, KubernetesObject> {
    let items = this.store.get(path);
    if (!items) this.store.set(path, (items = new Map()));
    return items;
  }

  private notify(collection: string, type: Event, object: KubernetesObject): void {
    for (const w of this.watchers.get(collection) ?? []) if (matches(object, w.selector)) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    if (this.unresponsive) return;
    if (this.rejectCredentials) return failure(res, 401, "Unauthorized", "Unauthorized");
    const url = new URL(req.url ?? "/", this.url);
    const m = RESOURCE_PATH.exec(url.pathname);
    if (!m) return notFound(res, url.pathname);
    const [, group, namespace, resource, name, sub] = m;
    const collection = `${group}/namespaces/${namespace}/${resource}`;
    // RBAC's verbs: a GET is get, list or watch; the subresource is part of the resource.
    const verb = req.method === "GET" ? (name ? "get" : url.searchParams.get("watch") === "true" ? "watch" : "list") : ({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[req.method ?? ""] ?? "");
    const what = sub ? `${resource}/${sub}` : resource;
    if (this.forbidden.has(`${verb} ${what}`)) {
      const apiGroup = group === "/api/v1" ? "" : group.split("/")[2];
      return failure(res, 403, "Forbidden", `${resource}${name ? ` "${name}"` : ""} is forbidden: User "test-user" cannot ${verb} resource "${what}" in API group "${apiGroup}" in the namespace "${namespace}"`);
    }
    if (!name && req.method === "GET") return url.searchParams.get("watch") === "true" ? this.watch(collection, url, res) : this.list(collection, url, res);
    if (!name && req.method === "POST") return this.create(collection, JSON.parse(body) as KubernetesObject, res);
    if (name && !sub && req.method === "GET") return this.getItem(collection, name, res);
    if (name && !sub && req.method === "PUT") return this.replace(collection, name, JSON.parse(body) as KubernetesObject, res);
    if (name && !sub && req.method === "PATCH") return this.mergePatch(collection, name, JSON.parse(body) as Record<string, unknown>, res);
    if (name && sub === "log" && req.method === "GET") return this.podLog(name, url, res);
    if (name && sub === "scale" && req.method === "PATCH") {
      const patch = JSON.parse(body) as { spec?: { replicas?: number } };
      this.scalePatches.push({ path: url.pathname, contentType: req.headers["content-type"] ?? "", body: patch });
      return send(res, 200, { kind: "Scale", apiVersion: "autoscaling/v1", metadata: { name, namespace }, spec: { replicas: patch.spec?.replicas } });
    }
    failure(res, 405, "MethodNotAllowed", `${req.method} ${url.pathname} is not served by the fake API server`);
  }

  private podLog(pod: string, url: URL, res: http.ServerResponse): void {
    this.logRequests.push(url.searchParams);
    const previous = url.searchParams.get("previous") === "true";
    const text = previous ? this.previousLogs.get(pod) : (this.logs.get(pod) ?? "");
    if (text === undefined) return failure(res, 400, "BadRequest", `previous terminated container "${url.searchParams.get("container") ?? "scoring"}" in pod "${pod}" not found`);
    const lines = text.split("\n");
    const tail = Number(url.searchParams.get("tailLines") ?? lines.length);
    const shown = lines.slice(-tail).join("\n");
    res.writeHead(200, { "content-type": "text/plain" });
    if (url.searchParams.get("follow") !== "true" || previous) return void res.end(shown);
    // Following: what is there, then each appended line, until the container stops (endLog).
    if (shown) res.write(`${shown}\n`);
    else res.flushHeaders(); // the answer starts at once, as the API server's does
    let set = this.followers.get(pod);
    if (!set) this.followers.set(pod, (set = new Set()));
    set.add(res);
    res.on("close", () => set.delete(res));
  }

  /** JSON merge patch (RFC 7386) of an object; for Secrets, `stringData` lands in `data` as the API server does. */
  private mergePatch(collection: string, name: string, patch: Record<string, unknown>, res: http.ServerResponse): void {
    const current = this.collection(collection).get(name);
    if (!current) return notFound(res, `${collection}/${name}`);
    const merge = (target: unknown, p: unknown): unknown => {
      if (typeof p !== "object" || p === null || Array.isArray(p)) return p;
      const out: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
      for (const [k, v] of Object.entries(p)) {
        if (v === null) delete out[k];
        else out[k] = merge(out[k], v);
      }
      return out;
    };
    const next = merge(current, patch) as KubernetesObject & { stringData?: Record<string, string>; data?: Record<string, string> };
    if (next.stringData) {
      next.data = { ...next.data, ...Object.fromEntries(Object.entries(next.stringData).map(([k, v]) => [k, Buffer.from(v).toString("base64")])) };
      delete next.stringData;
    }
    this.apply(collection, next);
    send(res, 200, this.get(collection, name));
  }

  private list(path: string, url: URL, res: http.ServerResponse): void {
    const selector = url.searchParams.get("labelSelector");
    const items = [...this.collection(path).values()].filter((o) => matches(o, selector));
    send(res, 200, { kind: "List", apiVersion: "v1", metadata: { resourceVersion: String(this.version) }, items });
  }

  private watch(path: string, url: URL, res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders(); // as the API server does: the client's watch call resolves on the headers
    const watcher: Watcher = { res, selector: url.searchParams.get("labelSelector") };
    let set = this.watchers.get(path);
    if (!set) this.watchers.set(path, (set = new Set()));
    set.add(watcher);
    res.on("close", () => set.delete(watcher));
    // Events after the client's resourceVersion were not seen by its list: replay them as ADDED.
    const since = Number(url.searchParams.get("resourceVersion") ?? 0);
    for (const o of this.collection(path).values()) {
      if (Number(o.metadata?.resourceVersion) > since && matches(o, watcher.selector)) res.write(`${JSON.stringify({ type: "ADDED", object: o })}\n`);
    }
  }

  private getItem(collection: string, name: string, res: http.ServerResponse): void {
    const obj = this.collection(collection).get(name);
    if (!obj) return notFound(res, `${collection}/${name}`);
    send(res, 200, obj);
  }

  private create(collection: string, obj: KubernetesObject, res: http.ServerResponse): void {
    const name = obj.metadata?.name ?? "";
    if (this.collection(collection).has(name)) return failure(res, 409, "AlreadyExists", `${name} exists`);
    this.apply(collection, obj);
    send(res, 201, this.get(collection, name));
  }

  private replace(collection: string, name: string, obj: KubernetesObject, res: http.ServerResponse): void {
    const current = this.collection(collection).get(name);
    if (!current) return notFound(res, `${collection}/${name}`);
    if (obj.metadata?.resourceVersion !== current.metadata?.resourceVersion) {
      return failure(res, 409, "Conflict", "the object has been modified");
    }
    this.apply(collection, obj);
    send(res, 200, this.get(collection, name));
  }
}
