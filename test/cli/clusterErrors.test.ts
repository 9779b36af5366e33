/**
 * The CLI on a cluster when something is wrong: each failure said as what it is (unreachable API
 * server, refused credentials, a missing RBAC permission with the role that grants it, a missing
 * service or Secret, a service without keys), with the backend that was used. The API server is
 * the in-process fake (test/support/fakeApiServer.ts), made to refuse, to go silent, or gone.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { CliError } from "../../cli/backends";
import { clusterError, credentialError } from "../../cli/kubeErrors";
import { DEFAULT_NAMESPACE, KEY_FIELDS, LABELS, ROLE_MODEL, ROUTER_NAME, SETTINGS_ANNOTATION, keySecretName, modelDeploymentName } from "../../core/contracts/naming";
import type { AuthMode } from "../../core/config";
import { clusterCli, runCli } from "../support/cli";
import { FakeApiServer } from "../support/fakeApiServer";
import { tempDir } from "../support/tmp";
import { settings } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const CORE = `/api/v1/namespaces/${NS}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const READER = "'Azure Kubernetes Service RBAC Reader' role (or a Role that allows it)";
const WRITER = "'Azure Kubernetes Service RBAC Writer' role (or a Role that allows it)";

/** A kubeconfig file for `server`, signed in as `user` (a token, or an exec credential plugin). */
function kubeconfigFile(server: string, user: Record<string, unknown> = { token: "t" }): string {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "c", cluster: "c", user: "u" }],
    currentContext: "c",
  });
  const file = path.join(tempDir("kubeconfig"), "kubeconfig");
  writeFileSync(file, kc.exportConfig());
  return file;
}

describe("CLI on a cluster: each failure said as what it is", function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  let kubeconfig: string;
  const cli = clusterCli(() => kubeconfig);

  before(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = kubeconfigFile(api.url);
    const modelService = (name: string, authMode: AuthMode) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: modelDeploymentName(name), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: name }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings(name, { authMode })) } },
    });
    api.apply(`${CORE}/services`, modelService("a", "key"));
    api.apply(`${CORE}/services`, modelService("nokeys", "key")); // its Secret is missing
    api.apply(`${CORE}/services`, modelService("t", "token"));
    api.apply(`${CORE}/services`, modelService("open", "none"));
    api.apply(`${CORE}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: ROUTER_NAME, namespace: NS }, spec: { ports: [{ port: 80 }] } });
    api.apply(`${CORE}/pods`, { apiVersion: "v1", kind: "Pod", metadata: { name: "model-a-1", namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: "a" } }, status: { conditions: [{ type: "Ready", status: "True" }] } });
    api.apply(`${CORE}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: keySecretName("a"), namespace: NS }, data: { [KEY_FIELDS.primary]: b64("primary-1"), [KEY_FIELDS.secondary]: b64("secondary-1") } });
  });
  afterEach(() => {
    api.forbidden.clear();
    api.rejectCredentials = false;
    api.unresponsive = false;
  });
  after(() => api.close());

  it("403 on the key Secret: the verb, resource, namespace, user and the role that allows it — not 'has no key Secret'", async () => {
    api.forbidden.add("get secrets");
    const keys = await cli("keys", "a");
    assert.equal(keys.code, 1);
    assert.equal(keys.json.error, `forbidden: get secrets in namespace 'aks-inference' (as test-user); needs the ${WRITER}`);
  });

  it("403 elsewhere: Reader for what reads, Writer for what changes, and nothing changed", async () => {
    api.forbidden.add("list pods");
    assert.equal((await cli("state", "a")).json.error, `forbidden: list pods in namespace 'aks-inference' (as test-user); needs the ${READER}`);
    api.forbidden.clear();
    api.forbidden.add("get pods/log");
    assert.equal((await cli("logs", "a")).json.error, `forbidden: get pods/log in namespace 'aks-inference' (as test-user); needs the ${READER}`);
    api.forbidden.clear();
    api.forbidden.add("patch secrets");
    const regen = await cli("regen-key", "a", "--key", "secondary");
    assert.equal(regen.code, 1);
    assert.equal(regen.json.error, `forbidden: patch secrets in namespace 'aks-inference' (as test-user); needs the ${WRITER}`);
    assert.deepEqual((api.get(`${CORE}/secrets`, keySecretName("a")) as { data: Record<string, string> }).data[KEY_FIELDS.secondary], b64("secondary-1"));
  });

  it("401: the credentials are refused, and how to sign in again", async () => {
    api.rejectCredentials = true;
    const state = await cli("state", "a");
    assert.equal(state.code, 1);
    assert.match(String(state.json.error), new RegExp(`^the API server at ${api.url} refused the credentials \\(401 Unauthorized\\); the kubeconfig's credentials have expired or are wrong`));
  });

  it("an API server that is not there: cannot reach it, with the address and the code", async () => {
    const gone = await new FakeApiServer().start();
    const url = gone.url;
    await gone.close();
    const { code, stdout } = await runCli(["--kubeconfig", kubeconfigFile(url), "--json", "keys", "a"]);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).error, `cannot reach the API server at ${url} (ECONNREFUSED): nothing accepts connections there`);
  });

  it("an API server that never answers: gives up after --request-timeout", async () => {
    api.unresponsive = true;
    const started = Date.now();
    const state = await runCli(["--kubeconfig", kubeconfig, "--request-timeout", "1", "--json", "state", "a"]);
    assert.equal(state.code, 1);
    assert.match(JSON.parse(state.stdout).error, new RegExp(`^cannot reach the API server at ${api.url} \\(no answer within 1 s\\): a firewall`));
    // The request gave up, and the command did not wait on its socket.
    assert.ok(Date.now() - started < 6_000, `${Date.now() - started} ms`);
  });

  it("a credential plugin that is missing, or fails: named, with how to fix it", async () => {
    const exec = (command: string, args: string[]) => ({ exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command, args, interactiveMode: "Never" } });
    const missing = await runCli(["--kubeconfig", kubeconfigFile(api.url, exec("kubelogin-not-installed", ["get-token"])), "--json", "state", "a"]);
    assert.match(JSON.parse(missing.stdout).error, /^the kubeconfig gets its credentials from `kubelogin-not-installed`, which is not installed \(spawn kubelogin-not-installed ENOENT\); install kubelogin/);
    const failing = await runCli(["--kubeconfig", kubeconfigFile(api.url, exec(process.execPath, ["-e", "console.error('AADSTS70043: the refresh token has expired'); process.exit(1)"])), "--json", "state", "a"]);
    assert.equal(JSON.parse(failing.stdout).error, `the kubeconfig's credential plugin \`${process.execPath}\` failed: AADSTS70043: the refresh token has expired; sign in again (\`az login\`)`);
  });

  it("keys of a service that has none, or whose Secret is missing, or that does not exist: each said so", async () => {
    assert.equal((await cli("keys", "t")).json.error, "service 't' uses token auth: it has no keys (`aks-inference token t` gets a token)");
    assert.equal((await cli("keys", "open")).json.error, "service 'open' uses no auth: it has no keys (its scoring URI takes requests without one)");
    assert.equal((await cli("keys", "nokeys")).json.error, "the key Secret 'nokeys-keys' of service 'nokeys' is missing from namespace 'aks-inference' (`pulumi up` creates it)");
    assert.equal((await cli("keys", "nope")).json.error, "service 'nope' not found in namespace 'aks-inference' (its services: a, nokeys, open, t)");
  });

  it("prints the backend it used and why under the error", async () => {
    api.forbidden.add("get secrets");
    const human = await runCli(["--kubeconfig", kubeconfig, "keys", "a"]);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, "");
    assert.equal(human.stderr, `forbidden: get secrets in namespace 'aks-inference' (as test-user); needs the ${WRITER}\n  backend: cluster ${api.url} (context 'c' of --kubeconfig ${kubeconfig}), chosen because --kubeconfig given\n`);
  });

  describe("failures no local test can cause", () => {
    const ctx = { server: "https://aks-dev-1a2b.hcp.westeurope.azmk8s.io:443", namespace: NS, execCommand: "kubelogin" };
    const op = { verb: "get", resource: "secrets" } as const;
    // The shapes node-fetch (the client's HTTP library) gives socket and TLS errors.
    const fetchError = (code: string) => Object.assign(new Error(`request to ${ctx.server}/api/v1 failed, reason: ${code}`), { name: "FetchError", type: "system", code, errno: code });

    it("a name that does not resolve: a private cluster's API server seen from outside its network", () => {
      assert.equal(clusterError(fetchError("ENOTFOUND"), op, ctx, 30).message, `cannot reach the API server at ${ctx.server} (ENOTFOUND): its name does not resolve; a private cluster's API server resolves only inside its network (VNet, VPN, or a machine that uses its private DNS zone)`);
    });

    it("a certificate the kubeconfig does not trust, and an unknown socket error, are still 'cannot reach'", () => {
      assert.match(clusterError(fetchError("SELF_SIGNED_CERT_IN_CHAIN"), op, ctx, 30).message, /^cannot reach the API server at .* \(SELF_SIGNED_CERT_IN_CHAIN\): its TLS certificate is not the one the kubeconfig's certificate-authority-data trusts$/);
      assert.equal(clusterError(fetchError("EPROTO"), op, ctx, 30).message, `cannot reach the API server at ${ctx.server} (EPROTO)`);
    });

    it("a 401 with kubelogin says to sign in again; another status says what the API server said", () => {
      assert.match(clusterError(Object.assign(new Error("HTTP-Code: 401"), { code: 401, body: undefined }), op, ctx, 30).message, /refused the credentials \(401 Unauthorized\); its token comes from `kubelogin`: sign in again \(`az login`/);
      const busy = Object.assign(new Error("HTTP-Code: 429"), { code: 429, body: JSON.stringify({ kind: "Status", message: "too many requests, please try again later" }) });
      assert.equal(clusterError(busy, op, ctx, 30).message, "the API server answered 429 to get secrets in namespace 'aks-inference': too many requests, please try again later");
    });

    it("keeps a CliError as it is, and names an unexpected error as one", () => {
      const known = new CliError("service 'x' not found");
      assert.equal(clusterError(known, op, ctx, 30), known);
      assert.equal(clusterError(new TypeError("boom"), op, ctx, 30).message, "error: boom");
      assert.equal(credentialError(new Error("HTTP protocol is not allowed when skipTLSVerify is not set or false"), { ...ctx, execCommand: undefined }).message, "cannot use the kubeconfig's cluster or user: HTTP protocol is not allowed when skipTLSVerify is not set or false");
    });
  });
});
