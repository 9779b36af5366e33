/**
 * `aks-inference state` on a cluster shows the compute a GPU service's replicas got, read from
 * their readiness log line (a fake API server stands in for the cluster; no GPU here).
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { KubernetesBackend } from "../../cli/kubernetes";
import { computeFromLog, computeSummary } from "../../core/decisions/gpu";
import { DEFAULT_NAMESPACE, GPU_RESOURCE, LABELS, ROLE_MODEL, SETTINGS_ANNOTATION, modelDeploymentName } from "../../core/contracts/naming";
import { FakeApiServer } from "../support/fakeApiServer";
import { REPO_ROOT } from "../support/stacks";
import { tempDir } from "../support/tmp";
import { settings } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const CORE = `/api/v1/namespaces/${NS}`;
const readyLine = (gpu: string) => JSON.stringify({ level: 30, service: "g", msg: `init() finished: replica ready (gpu: ${gpu})`, gpu });

const pod = (name: string, service: string, gpus: number): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: service } },
  spec: { containers: [{ name: "model", image: "env", resources: gpus > 0 ? { limits: { [GPU_RESOURCE]: String(gpus) } } : {} }] },
  status: { podIP: "10.0.0.9", startTime: new Date("2026-11-25T10:00:00Z"), conditions: [{ type: "Ready", status: "True" }] },
});

describe("state of a GPU service on a cluster", function () {
  this.timeout(30_000);
  let api: FakeApiServer;
  before(async () => {
    api = await new FakeApiServer().start();
    for (const [service, replicas] of [["g", 2], ["c", 1]] as const) {
      api.apply(`${CORE}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: modelDeploymentName(service), namespace: NS, labels: { [LABELS.role]: ROLE_MODEL, [LABELS.service]: service }, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings(service)) } } });
      api.apply(`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: modelDeploymentName(service), namespace: NS }, spec: { replicas } });
    }
    api.apply(`${CORE}/pods`, pod("model-g-1", "g", 1));
    api.apply(`${CORE}/pods`, pod("model-g-2", "g", 1));
    api.apply(`${CORE}/pods`, pod("model-c-1", "c", 0));
    api.logs.set("model-g-1", `{"msg":"package and models downloaded"}\n${readyLine("cuda")}\n{"msg":"scored"}`);
    api.logs.set("model-g-2", `${JSON.stringify({ level: 40, msg: "running on CPU although the service asks for 1 GPU(s): no CUDA device visible" })}\n${readyLine("cpu")}`);
    api.logs.set("model-c-1", readyLine("cuda")); // a CPU pod's log is not read
  });
  after(() => api.close());

  it("reports each GPU replica's provider, and nothing for CPU services", async () => {
    const backend = new KubernetesBackend(api.kubeConfig(), NS);
    const g = await backend.describe("g");
    assert.deepEqual(Object.fromEntries(g.replicas.map((r) => [r.id, r.gpu])), { "model-g-1": "cuda", "model-g-2": "cpu" });
    assert.equal(computeSummary(g.replicas), "cuda on 1, cpu on 1");
    const c = await backend.describe("c");
    assert.equal(c.replicas[0].gpu, undefined);
    assert.equal(computeSummary(c.replicas), undefined);
  });

  it("`aks-inference state` prints it, and puts it in --json", async () => {
    const kubeconfig = path.join(tempDir("kubeconfig"), "kubeconfig");
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(REPO_ROOT, "cli/bin.js"), "--kubeconfig", kubeconfig, ...args], { cwd: REPO_ROOT });
    assert.match((await run("state", "g")).stdout, /^g: Healthy \(2\/2 replicas ready\), gpu: cuda on 1, cpu on 1$/m);
    assert.equal((JSON.parse((await run("--json", "state", "g")).stdout) as { gpu?: string }).gpu, "cuda on 1, cpu on 1");
    assert.doesNotMatch((await run("state", "c")).stdout, /gpu:/);
  });

  it("reads the readiness line only, whatever else the log holds", () => {
    assert.equal(computeFromLog(`not json\n${readyLine("cuda")}\n{"msg":"init() finished","gpu":"tpu"}`), "cuda");
    assert.equal(computeFromLog('{"msg":"init() finished: replica ready"}'), undefined);
    assert.equal(computeSummary([{ gpu: "cuda" }, { gpu: "cuda" }, {}]), "cuda");
  });
});
