/**
 * The CLI against a cluster, as a user runs it: `aks-inference --kubeconfig <file> ...` with a
 * kubeconfig for an API server (test/support/fakeApiServer.ts) holding what the stack deploys.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { KubeConfig } from "@kubernetes/client-node";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { verifyToken } from "../../core/decisions/auth";
import { DEFAULT_NAMESPACE, KEY_FIELDS, LABELS, ROLE_MODEL, ROUTER_NAME, SETTINGS_ANNOTATION, TOKEN_SIGNING_FIELD, TOKEN_SIGNING_SECRET, keySecretName, modelDeploymentName } from "../../core/contracts/naming";
import type { ServiceDescription } from "../../local/admin";
import { CLI_BIN, clusterCli, runCli } from "../support/cli";
import { FakeApiServer } from "../support/fakeApiServer";
import { tempDir } from "../support/tmp";
import { settings } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const CORE = `/api/v1/namespaces/${NS}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

const pod = (name: string, service: string, status: V1Pod["status"]): V1Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: service } }, status });
const readyPod = (name: string, service: string) => pod(name, service, { podIP: "10.0.0.1", startTime: new Date("2026-11-25T10:00:00Z"), conditions: [{ type: "Ready", status: "True" }] });

describe("CLI against a cluster (--kubeconfig)", function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  let kubeconfig: string;

  const cli = clusterCli(() => kubeconfig);

  before(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = path.join(tempDir("kubeconfig"), "kubeconfig");
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    const modelService = (name: string, authMode: "key" | "token") => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: modelDeploymentName(name), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: name }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings(name, { authMode })) } },
    });
    api.apply(`${CORE}/services`, modelService("a", "key"));
    api.apply(`${CORE}/services`, modelService("t", "token"));
    api.apply(`${CORE}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: ROUTER_NAME, namespace: NS }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: "20.1.2.3" }] } } });
    api.apply(`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: modelDeploymentName("a"), namespace: NS }, spec: { replicas: 2 } });
    api.apply(`${CORE}/pods`, readyPod("model-a-1", "a"));
    // The second replica's entry script failed in init(): exit code 3 with the reason as termination message.
    api.apply(`${CORE}/pods`, pod("model-a-2", "a", { conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ name: "model", image: "env", imageID: "", ready: false, restartCount: 2, lastState: { terminated: { exitCode: 3, message: "init() failed: model.onnx not found" } } }] }));
    api.apply(`${CORE}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: keySecretName("a"), namespace: NS }, data: { [KEY_FIELDS.primary]: b64("primary-1"), [KEY_FIELDS.secondary]: b64("secondary-1") } });
    api.apply(`${CORE}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: TOKEN_SIGNING_SECRET, namespace: NS }, data: { [TOKEN_SIGNING_FIELD]: b64("signing-secret-of-the-cluster") } });
    api.logs.set("model-a-1", "starting\nloaded 1 model\nready on :5001");
  });
  after(() => api.close());

  it("state: reports the replicas' state and the failed replica's reason, then Healthy", async () => {
    const unhealthy = await cli("state", "a");
    assert.equal(unhealthy.code, 0);
    assert.equal(unhealthy.json.state, "Unhealthy");
    assert.equal(unhealthy.json.ready, 1);
    assert.equal(unhealthy.json.desired, 2);
    assert.match(String(unhealthy.json.reason), /model\.onnx not found/);
    api.apply(`${CORE}/pods`, readyPod("model-a-2", "a"));
    assert.equal((await cli("state", "a")).json.state, "Healthy");
  });

  it("state: Kubernetes' restart count and last termination, CrashLoopBackOff also while the pod is briefly up between crashes", async () => {
    api.apply(`${CORE}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: modelDeploymentName("loop"), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: "loop" }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings("loop")) } } });
    api.apply(`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: modelDeploymentName("loop"), namespace: NS }, spec: { replicas: 1 } });
    const ago = (s: number) => new Date(Date.now() - s * 1000);
    const lastState = { terminated: { exitCode: 1, reason: "Error", message: "ModuleNotFoundError: No module named 'sklearn'", startedAt: ago(16), finishedAt: ago(12) } };
    const container = { name: "model", image: "env", imageID: "", lastState };
    const REASON = /^CrashLoopBackOff \(restarts (\d+), last exit: code 1 "ModuleNotFoundError: No module named 'sklearn'" 1[2-9] s ago\)$/;
    // Waiting for its next restart.
    api.apply(`${CORE}/pods`, pod("model-loop-1", "loop", { conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ ...container, ready: false, restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 2m40s restarting failed container" } } }] }));
    const waiting = await cli("state", "loop");
    assert.equal(waiting.json.state, "Unhealthy");
    assert.equal(REASON.exec(String(waiting.json.reason))?.[1], "5", String(waiting.json.reason));
    const [replica] = waiting.json.replicas as { restarts: number; lastExit: { code: number; message: string; ranMs: number } }[];
    assert.equal(replica.restarts, 5);
    assert.deepEqual([replica.lastExit.code, replica.lastExit.message, replica.lastExit.ranMs], [1, "ModuleNotFoundError: No module named 'sklearn'", 4_000]);
    // Up again for a few seconds before its next crash: not Healthy.
    api.apply(`${CORE}/pods`, pod("model-loop-1", "loop", { podIP: "10.0.0.9", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ ...container, ready: true, restartCount: 6, state: { running: { startedAt: ago(2) } } }] }));
    const between = await cli("state", "loop");
    assert.equal(between.json.state, "Unhealthy");
    assert.equal(between.json.ready, 1);
    assert.equal(REASON.exec(String(between.json.reason))?.[1], "6", String(between.json.reason));
    // Killed for its memory once, an hour ago, and up since: Healthy, with the restart counted.
    const oom = { terminated: { exitCode: 137, reason: "OOMKilled", startedAt: ago(7200), finishedAt: ago(3600) } };
    api.apply(`${CORE}/pods`, pod("model-loop-1", "loop", { podIP: "10.0.0.9", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ ...container, lastState: oom, ready: true, restartCount: 1, state: { running: { startedAt: ago(3590) } } }] }));
    const steady = await cli("state", "loop");
    assert.equal(steady.json.state, "Healthy");
    const [again] = steady.json.replicas as { restarts: number; lastExit: { code: number; message: string } }[];
    assert.deepEqual([again.restarts, again.lastExit.code, again.lastExit.message], [1, 137, "OOMKilled"]);
  });

  it("signs in through the kubeconfig's exec plugin, as the stack's kubelogin kubeconfig does", async () => {
    // A stand-in for kubelogin on the same contract (client.authentication.k8s.io ExecCredential
    // on stdout): the kubeconfig `pulumi stack output kubeconfig` gives runs `kubelogin get-token
    // --login azurecli ...`, which the CLI's Kubernetes client executes the same way.
    const dir = tempDir("kubelogin");
    const plugin = path.join(dir, "kubelogin.js");
    writeFileSync(plugin, `process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential", status: { token: "entra-" + process.argv[2] } }));`);
    const exec = new KubeConfig();
    exec.loadFromOptions({
      clusters: [{ name: "aks", server: api.url, skipTLSVerify: true }],
      users: [{ name: "entra", exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: process.execPath, args: [plugin, "azurecli"], interactiveMode: "Never" } }],
      contexts: [{ name: "aks", cluster: "aks", user: "entra" }],
      currentContext: "aks",
    });
    const execConfig = path.join(dir, "kubeconfig");
    writeFileSync(execConfig, exec.exportConfig());
    const seen = api.authorizations.length;
    const state = await clusterCli(() => execConfig)("state", "a");
    assert.equal(state.code, 0, JSON.stringify(state.json));
    assert.ok(api.authorizations.slice(seen).length > 0 && api.authorizations.slice(seen).every((a) => a === "Bearer entra-azurecli"), api.authorizations.slice(seen).join(", "));
  });

  it("uri: the scoring and swagger URIs behind the router's load balancer", async () => {
    assert.deepEqual((await cli("uri", "a")).json, { scoringUri: "http://20.1.2.3/api/v1/service/a/score", swaggerUri: "http://20.1.2.3/api/v1/service/a/swagger.json" });
  });

  it("keys and regen-key: the secondary is replaced in the cluster's Secret, the primary stays", async () => {
    assert.deepEqual((await cli("keys", "a")).json, { primaryKey: "primary-1", secondaryKey: "secondary-1" });
    const regen = await cli("regen-key", "a", "--key", "secondary");
    assert.equal(regen.json.primaryKey, "primary-1");
    assert.notEqual(regen.json.secondaryKey, "secondary-1");
    assert.deepEqual((await cli("keys", "a")).json, regen.json, "the new key is what the Secret (and so the router) now holds");
  });

  it("logs: the last lines of each replica", async () => {
    const logs = await cli("logs", "a", "--tail", "1");
    assert.match(String(logs.json.logs), /==> model-a-1 <==\nready on :5001/);
    assert.doesNotMatch(String(logs.json.logs), /loaded 1 model/);
  });

  it("token: a token the router accepts for a token-auth service, and a clear refusal for a key-auth one", async () => {
    const t = await cli("token", "t");
    const check = await verifyToken(String(t.json.accessToken), { type: "builtin", signingKey: () => "signing-secret-of-the-cluster" }, "t");
    assert.ok(check.ok, "signed with the cluster's signing key, for the service's audience");
    assert.ok(Number(t.json.refreshBy) > Date.now() / 1000);
    const refused = await cli("token", "a");
    assert.equal(refused.code, 1);
    assert.match(String(refused.json.error), /uses key auth/);
  });

  it("names a service that does not exist, and the services that do, with exit code 1", async () => {
    const missing = await cli("state", "nope");
    assert.equal(missing.code, 1);
    assert.equal(missing.json.error, "service 'nope' not found in namespace 'aks-inference' (its services: a, loop, t)");
    const elsewhere = await runCli(["--kubeconfig", kubeconfig, "--namespace", "other", "--json", "state", "a"]);
    assert.match(String(JSON.parse(elsewhere.stdout).error), /^service 'a' not found in namespace 'other': it has no model services \(is --namespace right/);
  });

  it("list: every service with the state, replicas and scoring URI that `state` and `uri` give it", async () => {
    const listed = JSON.parse((await runCli(["--kubeconfig", kubeconfig, "--json", "list"])).stdout) as ServiceDescription[];
    assert.deepEqual(listed.map((s) => s.name), ["a", "loop", "t"]);
    for (const s of listed) {
      const state = (await cli("state", s.name)).json;
      assert.deepEqual([s.state, s.ready, s.desired, s.reason], [state.state, state.ready, state.desired, state.reason], s.name);
      assert.equal(s.scoringUri, `http://20.1.2.3/api/v1/service/${s.name}/score`);
    }
    const table = (await runCli(["--kubeconfig", kubeconfig, "list"])).stdout;
    assert.match(table, /^SERVICE\s+STATE\s+REPLICAS\s+AUTH\s+SCORING URI$/m);
    assert.match(table, /^a\s+Healthy\s+2\/2\s+key\s+http:\/\/20\.1\.2\.3\/api\/v1\/service\/a\/score$/m);
    assert.match(table, /^t\s+Unhealthy\s+0\/0\s+token\s+http:\/\/20\.1\.2\.3\/api\/v1\/service\/t\/score$/m);
    assert.match(table, /^ {2}t: 0\/0 replicas ready$/m, "why a service is not Healthy, under the table");
  });

  it("logs --since, --previous and --replica: asked of the API server for the right pods", async () => {
    api.previousLogs.set("model-a-1", "Traceback (most recent call last):\nMemoryError");
    const seen = api.logRequests.length;
    const since = await cli("logs", "a", "--since", "1h30m", "--tail", "5");
    assert.equal(since.code, 0);
    assert.deepEqual(api.logRequests.slice(seen).map((q) => [q.get("sinceSeconds"), q.get("tailLines")]), [["5400", "5"], ["5400", "5"]], "one request per replica, since 90 minutes");
    const previous = String((await cli("logs", "a", "--previous")).json.logs);
    assert.match(previous, /==> model-a-1 <==\nTraceback \(most recent call last\):\nMemoryError/);
    assert.match(previous, /==> model-a-2 <==\n\(no logs: previous terminated container "scoring" in pod "model-a-2" not found\)/, "a replica without a previous run says so, in its place");
    const one = String((await cli("logs", "a", "--replica", "model-a-2")).json.logs);
    assert.doesNotMatch(one, /model-a-1/);
    const unknown = await cli("logs", "a", "--replica", "model-a-9");
    assert.equal(unknown.json.error, "service 'a' has no replica 'model-a-9' (its replicas: model-a-1, model-a-2)");
    assert.match(String((await cli("logs", "a", "--since", "yesterday")).json.error), /--since must be a duration such as 30s, 10m, 2h/);
  });

  it("logs -f: prints each replica's new lines as they are written, and exits when the replicas stop", async () => {
    const child = spawn(process.execPath, [CLI_BIN, "--kubeconfig", kubeconfig, "--json", "logs", "a", "-f", "--tail", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const lines: { from: string; line: string }[] = [];
    const waitFor = (pred: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(lines)}`)), 8_000);
        const check = () => {
          if (!pred()) return;
          clearTimeout(timer);
          child.stdout.off("data", check);
          resolve();
        };
        child.stdout.on("data", check);
        check();
      });
    let buffered = "";
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const p of parts) lines.push(JSON.parse(p) as { from: string; line: string });
    });
    try {
      await waitFor(() => lines.some((l) => l.line === "ready on :5001"));
      api.appendLog("model-a-1", "scored 1 request");
      api.appendLog("model-a-2", "init() finished");
      await waitFor(() => lines.length >= 3);
      assert.deepEqual(lines[0], { from: "model-a-1", line: "ready on :5001" }, "the last line already written (--tail 1) comes first");
      // The two replicas' streams are independent: their new lines may come in either order.
      assert.deepEqual(lines.slice(1).sort((x, y) => x.from.localeCompare(y.from)), [
        { from: "model-a-1", line: "scored 1 request" },
        { from: "model-a-2", line: "init() finished" },
      ]);
      api.endLog("model-a-1");
      api.endLog("model-a-2");
      assert.equal(await exited, 0, "the command ends with its replicas' logs");
    } finally {
      child.kill();
    }
  });
});
