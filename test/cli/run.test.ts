/**
 * `aks-inference run <service>` on a cluster: the request goes to the scoring URI the router's
 * Service gives (here a real router on 127.0.0.1, named by the stack's host annotation) with the
 * service's primary key from its Secret, or a token signed with the cluster's signing key, as
 * `az ml service run` did. The replica's answer is printed; one of 400 or more is an error.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { AuthMode } from "../../core/config";
import { DEFAULT_NAMESPACE, KEY_FIELDS, LABELS, ROLE_MODEL, ROUTER_HOST_ANNOTATION, ROUTER_NAME, SETTINGS_ANNOTATION, TOKEN_SIGNING_FIELD, TOKEN_SIGNING_SECRET, keySecretName, modelDeploymentName } from "../../core/contracts/naming";
import { LocalDiscovery } from "../../router/inProcess";
import type { RouterHandle } from "../../router/server";
import { runCli } from "../support/cli";
import { FakeApiServer } from "../support/fakeApiServer";
import { tempDir } from "../support/tmp";
import { MemoryKeyStore, routerWith, settings, startUpstream, type Upstream } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const CORE = `/api/v1/namespaces/${NS}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const SIGNING_KEY = "signing-secret-of-the-cluster";

describe("CLI: run <service> through the router, on a cluster", function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  let router: RouterHandle;
  let replica: Upstream;
  let failing: Upstream;
  let kubeconfig: string;
  const routerService = (annotations: Record<string, string>) => ({ apiVersion: "v1", kind: "Service", metadata: { name: ROUTER_NAME, namespace: NS, annotations }, spec: { ports: [{ port: 80 }] } });

  /** `aks-inference --kubeconfig <fake> <args>`: exit code, stdout, stderr. */
  const cli = (...args: string[]) => runCli(["--kubeconfig", kubeconfig, ...args]);

  before(async () => {
    // The replica answers what it got; the failing one refuses every input, as a run() that raises would.
    replica = await startUpstream("r", {
      handler: (_req, res, body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ got: JSON.parse(body.toString("utf8")) as unknown }));
      },
    });
    failing = await startUpstream("f", {
      handler: (_req, res) => {
        res.writeHead(422, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "input must have 'data'" }));
      },
    });
    const discovery = new LocalDiscovery();
    const keys = new MemoryKeyStore();
    api = await new FakeApiServer().start();
    kubeconfig = path.join(tempDir("kubeconfig"), "kubeconfig");
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    for (const [name, authMode, upstream] of [["a", "key", replica], ["t", "token", replica], ["open", "none", replica], ["bad", "key", failing]] as const) {
      const s = settings(name, { authMode: authMode as AuthMode });
      discovery.upsertService(s);
      discovery.addReplica(name, { id: `${name}-1`, url: upstream.url });
      api.apply(`${CORE}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: modelDeploymentName(name), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: name }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(s) } } });
      if (authMode === "key") {
        // The same keys in the cluster's Secret (where the CLI reads them) and in the router's store.
        keys.keys.set(name, { primaryKey: `${name}-primary`, secondaryKey: `${name}-secondary` });
        api.apply(`${CORE}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: keySecretName(name), namespace: NS }, data: { [KEY_FIELDS.primary]: b64(`${name}-primary`), [KEY_FIELDS.secondary]: b64(`${name}-secondary`) } });
      }
    }
    api.apply(`${CORE}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: TOKEN_SIGNING_SECRET, namespace: NS }, data: { [TOKEN_SIGNING_FIELD]: b64(SIGNING_KEY) } });
    router = await routerWith(discovery, keys, { tokenIssuer: { type: "builtin", signingKey: () => SIGNING_KEY } });
    api.apply(`${CORE}/services`, routerService({ [ROUTER_HOST_ANNOTATION]: new URL(router.url).host }));
  });
  after(async () => {
    await router.close();
    await replica.close();
    await failing.close();
    await api.close();
  });

  it("key auth: scores with the primary key and prints the answer", async () => {
    const run = await cli("run", "a", "--data", '{"data": [[1, 2]]}');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { got: { data: [[1, 2]] } });
    const json = await cli("--json", "run", "a", "--data", '{"data": [[3]]}');
    assert.deepEqual(JSON.parse(json.stdout), { status: 200, version: "default", body: { got: { data: [[3]] } } }, "with the version that answered (azureml-model-deployment)");
  });

  it("token auth: a token from the cluster's signing key, which the router accepts; no auth: no credential", async () => {
    const body = path.join(tempDir("body"), "request.json");
    writeFileSync(body, '{"data": "from a file"}');
    const token = await cli("run", "t", "--file", body);
    assert.equal(token.code, 0, token.stderr);
    assert.deepEqual(JSON.parse(token.stdout), { got: { data: "from a file" } });
    const open = await cli("run", "open", "--data", "[1]");
    assert.equal(open.code, 0, open.stderr);
    assert.deepEqual(JSON.parse(open.stdout), { got: [1] });
  });

  it("an answer of 400 or more: exit code 1, with the status and the body", async () => {
    const bad = await cli("run", "bad", "--data", "{}");
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /^bad answered 422: \{"error":"input must have 'data'"\}\n {2}backend: cluster /);
  });

  it("bad input: refused before anything is sent", async () => {
    const hits = replica.hits.length;
    const notJson = await cli("run", "a", "--data", "{data: 1}");
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /^--data is not JSON \(.*\); give --content-type for a body in another format\n$/);
    assert.match((await cli("run", "a")).stderr, /^give the request body with either --data '<json>' or --file <path>\n$/);
    assert.match((await cli("run", "a", "--data", "{}", "--file", "x.json")).stderr, /^give the request body with either --data/);
    assert.match((await cli("run", "a", "--file", path.join(tempDir("none"), "missing.json"))).stderr, /^cannot read --file .*missing\.json: ENOENT/);
    assert.equal(replica.hits.length, hits, "no request reached the replica");
  });

  it("a router without an address yet, or one that does not answer: said so", async () => {
    try {
      api.apply(`${CORE}/services`, routerService({}));
      const pending = await cli("run", "a", "--data", "{}");
      assert.equal(pending.code, 1);
      assert.match(pending.stderr, /^the router has no address yet \(its load balancer is pending\); `aks-inference uri a` shows the scoring URI once it has one\n/);
      api.apply(`${CORE}/services`, routerService({ [ROUTER_HOST_ANNOTATION]: new URL(api.url).host.replace(/:\d+$/, ":1") }));
      const refused = await cli("run", "a", "--data", "{}");
      assert.match(refused.stderr, /^cannot reach the router at http:\/\/127\.0\.0\.1:1\/api\/v1\/service\/a\/score: connect ECONNREFUSED/);
    } finally {
      api.apply(`${CORE}/services`, routerService({ [ROUTER_HOST_ANNOTATION]: new URL(router.url).host }));
    }
  });
});
