/**
 * The router's Kubernetes implementations (informers, API clients) against an API server that
 * speaks list/watch over HTTP (test/support/fakeApiServer.ts): what a cluster changes reaches the
 * router as a watch event, without a restart or a polling loop.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { V1EndpointSlice, V1Lease, V1Secret, V1Service } from "@kubernetes/client-node";
import { KEY_FIELDS, LABELS, ROLE_MODEL, ROLE_ROUTER, ROUTER_LEASE, SETTINGS_ANNOTATION, keySecretName, modelDeploymentName } from "../../core/contracts/naming";
import { KubernetesDiscovery, KubernetesKeyStore, KubernetesScaler, LeaseCoordinator } from "../../router/kubernetes";
import { startRouter, type RouterHandle } from "../../router/server";
import { FakeApiServer } from "../support/fakeApiServer";
import { call, quietLogger, settings, startUpstream, type Upstream } from "../support/upstream";

const NS = "aks-inference";
const SERVICES = `/api/v1/namespaces/${NS}/services`;
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const SECRETS = `/api/v1/namespaces/${NS}/secrets`;
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;

const modelService = (name: string): V1Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: modelDeploymentName(name), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: name }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings(name, { maxQueueWaitMs: 100 })) } },
  spec: { ports: [{ name: "http", port: 80 }] },
});

/** The slice Kubernetes keeps for a model Service (labels mirrored from the Service). */
const slice = (service: string, role: string, endpoints: { ip: string; pod: string; ready: boolean }[], port: number): V1EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  addressType: "IPv4",
  metadata: { name: `${service}-abcde`, namespace: NS, labels: { [LABELS.role]: role, [LABELS.service]: service } },
  ports: [{ name: "http", port }],
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready }, targetRef: { kind: "Pod", name: e.pod } })),
});

const keySecret = (service: string, primary: string, secondary: string): V1Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: keySecretName(service), namespace: NS, labels: { [LABELS.keysFor]: service } },
  data: { [KEY_FIELDS.primary]: Buffer.from(primary).toString("base64"), [KEY_FIELDS.secondary]: Buffer.from(secondary).toString("base64") },
});

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

describe("router: Kubernetes discovery, keys, scaling and leases against an API server", function () {
  this.timeout(20_000);
  let api: FakeApiServer;
  let upstream: Upstream;

  beforeEach(async () => {
    api = await new FakeApiServer().start();
    upstream = await startUpstream("model-a-1");
  });
  afterEach(async () => {
    await upstream.close();
    await api.close();
  });

  it("routes to the ready endpoints it watches and follows Service, EndpointSlice and Secret changes", async () => {
    const port = Number(new URL(upstream.url).port);
    api.apply(SERVICES, modelService("a"));
    api.apply(SLICES, slice("a", ROLE_MODEL, [{ ip: "127.0.0.1", pod: "model-a-1", ready: true }], port));
    api.apply(SECRETS, keySecret("a", "primary-1", "secondary-1"));
    // Objects the router must not pick up: another role, a Secret without the keys label.
    api.apply(SERVICES, { ...modelService("x"), metadata: { ...modelService("x").metadata, labels: { [LABELS.role]: ROLE_ROUTER, [LABELS.service]: "x" } } });
    api.apply(SECRETS, { ...keySecret("b", "p", "s"), metadata: { name: "unrelated", namespace: NS } });

    const kc = api.kubeConfig();
    const log = quietLogger();
    const keys = new KubernetesKeyStore(kc, NS, log);
    await keys.start();
    const router: RouterHandle = await startRouter({ discovery: new KubernetesDiscovery(kc, NS, log), keys, logger: log, drainGraceMs: 0 });
    const score = (service: string, key: string) => call(`${router.url}/api/v1/service/${service}/score`, { key });
    try {
      const first = await score("a", "primary-1");
      assert.equal(first.status, 200);
      assert.equal(first.json.replica, "model-a-1");
      assert.equal((await score("x", "primary-1")).status, 404, "a Service without the model role is not routed to");
      assert.equal(keys.get("b"), undefined, "a Secret without the keys label is not read");

      // regen-key: the Secret changes; the new secondary works, the old one stops, the primary keeps working.
      api.apply(SECRETS, keySecret("a", "primary-1", "secondary-2"));
      await eventually(async () => (await score("a", "secondary-2")).status === 200, "the rotated key is accepted");
      assert.equal((await score("a", "secondary-1")).status, 401);
      assert.equal((await score("a", "primary-1")).status, 200);

      // The pod turns unready: no new requests reach it (503 once the queue wait is over).
      api.apply(SLICES, slice("a", ROLE_MODEL, [{ ip: "127.0.0.1", pod: "model-a-1", ready: false }], port));
      await eventually(async () => (await score("a", "primary-1")).status === 503, "the unready replica gets no requests");
      const hits = upstream.hits.length;
      assert.equal((await score("a", "primary-1")).json.error?.code, "NoReadyReplica");
      assert.equal(upstream.hits.length, hits);

      // Ready again, then the Service is deleted: the service is gone from the router.
      api.apply(SLICES, slice("a", ROLE_MODEL, [{ ip: "127.0.0.1", pod: "model-a-1", ready: true }], port));
      await eventually(async () => (await score("a", "primary-1")).status === 200, "the replica is back");
      api.remove(SERVICES, modelDeploymentName("a"));
      await eventually(async () => (await score("a", "primary-1")).status === 404, "the deleted service is unknown");
    } finally {
      await router.close();
    }
  });

  it("scales a model Deployment through its scale subresource with a merge patch", async () => {
    await new KubernetesScaler(api.kubeConfig(), NS).setReplicas("a", 3);
    assert.deepEqual(api.scalePatches, [
      { path: `/apis/apps/v1/namespaces/${NS}/deployments/${modelDeploymentName("a")}/scale`, contentType: "application/merge-patch+json", body: { spec: { replicas: 3 } } },
    ]);
  });

  it("elects one coordinator by Lease, and the leader sums the load its peers report", async () => {
    // A peer router's admin endpoint, found through the router's own EndpointSlice.
    const peer = http.createServer((_req, res) => res.end(JSON.stringify({ a: { inFlight: 2, queued: 1 } })));
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    const adminPort = (peer.address() as AddressInfo).port;
    api.apply(SLICES, slice("router", ROLE_ROUTER, [{ ip: "127.0.0.1", pod: "router-2", ready: true }], 8080));
    const kc = api.kubeConfig();
    const first = new LeaseCoordinator(kc, NS, "router-1", adminPort, quietLogger());
    await eventually(() => first.isLeader(), "the first router takes the free lease");
    const second = new LeaseCoordinator(kc, NS, "router-2", adminPort, quietLogger());
    try {
      // The second router has tried (and failed) to take the held lease once it has read it.
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(first.isLeader());
      assert.ok(!second.isLeader(), "a held, fresh lease is not taken over");
      assert.equal(second.leaderPod(), "router-1", "a follower knows which pod decides (its status page names it)");
      assert.equal(first.leaderPod(), "router-1");
      assert.equal((api.get(LEASES, ROUTER_LEASE) as V1Lease).spec?.holderIdentity, "router-1");
      await eventually(async () => (await first.collect({ a: { inFlight: 1, queued: 0 } })).a?.inFlight === 3, "the peer's load is added to the leader's own");
      assert.deepEqual(await first.collect({ a: { inFlight: 1, queued: 0 } }), { a: { inFlight: 3, queued: 1 } });
    } finally {
      await first.close();
      await second.close();
      peer.closeAllConnections();
      peer.close();
    }
  });
});
