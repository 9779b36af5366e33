/**
 * Which backend a command talks to: --kubeconfig or --context pick a cluster; else a running
 * local mode; else KUBECONFIG's cluster, as kubectl; else an error saying how to get either. Every
 * error names the backend used and why. Each case runs the CLI with an environment of its own.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_NAMESPACE, KEY_FIELDS, LABELS, ROLE_MODEL, SETTINGS_ANNOTATION, keySecretName, modelDeploymentName } from "../../core/contracts/naming";
import type { LocalState } from "../../local/state";
import { envWithout, runCli } from "../support/cli";
import { FakeApiServer } from "../support/fakeApiServer";
import { tempDir } from "../support/tmp";
import { settings } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A kubeconfig file with one context, `name`, for `server` (its current context). */
function kubeconfigFile(name: string, server: string, file = path.join(tempDir("kubeconfig"), "kubeconfig")): string {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name, server, skipTLSVerify: true }], users: [{ name, token: "t" }], contexts: [{ name, cluster: name, user: name }], currentContext: name });
  writeFileSync(file, kc.exportConfig());
  return file;
}

describe("CLI: which backend (--kubeconfig, --context, KUBECONFIG, local mode)", function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  /** The fake cluster's kubeconfig (context `fake`), and one whose API server is gone (context `other`). */
  let fake: string;
  let other: string;
  let otherUrl: string;
  /** A local dir where no local mode runs. */
  let noLocal: string;
  const KEYS = { primaryKey: "primary-1", secondaryKey: "secondary-1" };

  before(async () => {
    api = await new FakeApiServer().start();
    api.apply(`/api/v1/namespaces/${NS}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: modelDeploymentName("a"), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: "a" }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings("a")) } } });
    api.apply(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: "v1", kind: "Secret", metadata: { name: keySecretName("a"), namespace: NS }, data: { [KEY_FIELDS.primary]: b64(KEYS.primaryKey), [KEY_FIELDS.secondary]: b64(KEYS.secondaryKey) } });
    fake = kubeconfigFile("fake", api.url);
    const gone = await new FakeApiServer().start();
    otherUrl = gone.url;
    await gone.close();
    other = kubeconfigFile("other", otherUrl);
    noLocal = tempDir("no-local");
  });
  after(() => api.close());

  /** `aks-inference --json --local-dir <dir> <args>` with exactly `env` for KUBECONFIG and HOME. */
  const cli = async (env: NodeJS.ProcessEnv, dir: string, ...args: string[]) => {
    const r = await runCli(["--json", "--local-dir", dir, ...args], { env: { ...envWithout("KUBECONFIG"), ...env } });
    return { code: r.code, json: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  it("KUBECONFIG set and no local mode running: the cluster of its current context, as kubectl", async () => {
    const keys = await cli({ KUBECONFIG: fake }, noLocal, "keys", "a");
    assert.equal(keys.code, 0, JSON.stringify(keys.json));
    assert.deepEqual(keys.json, KEYS);
  });

  it("KUBECONFIG with several files: merged as kubectl merges them, --context picks any of their contexts", async () => {
    const list = [path.join(noLocal, "missing"), other, fake].join(path.delimiter);
    // The first file with a current context decides (a missing file is skipped, as kubectl does).
    const first = await cli({ KUBECONFIG: list }, noLocal, "keys", "a");
    assert.equal(first.code, 1);
    assert.equal(first.json.error, `cannot reach the API server at ${otherUrl} (ECONNREFUSED): nothing accepts connections there`);
    assert.equal(first.json.backend, `cluster ${otherUrl} (context 'other' of KUBECONFIG=${list}), chosen because KUBECONFIG is set and no local mode is running in ${noLocal}`);
    assert.deepEqual((await cli({ KUBECONFIG: list }, noLocal, "--context", "fake", "keys", "a")).json, KEYS);
    const unknown = await cli({ KUBECONFIG: list }, noLocal, "--context", "prod", "keys", "a");
    assert.equal(unknown.json.error, `context 'prod' is not in KUBECONFIG=${list} (its contexts: 'other', 'fake')`);
  });

  it("--context without KUBECONFIG reads ~/.kube/config; nothing reads it unasked", async () => {
    const home = tempDir("home");
    mkdirSync(path.join(home, ".kube"));
    kubeconfigFile("fake", api.url, path.join(home, ".kube", "config"));
    assert.deepEqual((await cli({ HOME: home }, noLocal, "--context", "fake", "keys", "a")).json, KEYS);
    // No local mode and no cluster asked for: the last cluster selected in ~/.kube/config is not used behind the user's back.
    const none = await cli({ HOME: home }, noLocal, "keys", "a");
    assert.equal(none.code, 1);
    assert.equal(none.json.error, `no local mode is running (no ${path.join(noLocal, "state.json")}) and no cluster is chosen: start local mode with \`npm start\`, or pass --kubeconfig <file> or --context <name> (or set KUBECONFIG) for a cluster`);
  });

  it("a running local mode comes before KUBECONFIG, and says so; --context still picks the cluster", async () => {
    // A local mode's state file naming a live process (this one) whose admin API is gone.
    const dir = tempDir("local");
    const state: LocalState = { pid: process.pid, stack: "dev", routerUrl: otherUrl, adminUrl: otherUrl, adminToken: "x", services: ["a"] };
    writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
    const local = await cli({ KUBECONFIG: fake }, dir, "keys", "a");
    assert.equal(local.code, 1);
    assert.match(String(local.json.error), new RegExp(`^local mode \\(pid ${process.pid}\\) does not answer at ${otherUrl}`));
    assert.equal(
      local.json.backend,
      `local mode (pid ${process.pid}, stack 'dev', admin API ${otherUrl}), chosen because a local mode is running in ${dir}; KUBECONFIG is set, but a running local mode comes first: pass --context or --kubeconfig for the cluster`,
    );
    assert.deepEqual((await cli({ KUBECONFIG: fake }, dir, "--context", "fake", "keys", "a")).json, KEYS);
  });

  it("--help states the rule", async () => {
    const { stdout } = await runCli(["--help"]);
    assert.match(stdout, /--context <name>/);
    assert.match(stdout, /Which backend: a cluster when --kubeconfig or --context is given; else the local mode running in\s+--local-dir \(`npm start`\); else the cluster of KUBECONFIG's current context\. A running local mode\s+comes before KUBECONFIG\./);
  });
});
