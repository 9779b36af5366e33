/**
 * `aks-inference traffic` and `state` for a service with versions, against an API server holding
 * what the stack deploys (one Service and Deployment per version), with the router's own
 * discovery watching it: a split changed by the CLI reaches the router without a deploy.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { V1Service } from "@kubernetes/client-node";
import pino from "pino";
import { DEFAULT_NAMESPACE, LABELS, ROLE_MODEL, SETTINGS_ANNOTATION, modelDeploymentName } from "../../core/contracts/naming";
import { parseRoutingSettings } from "../../core/contracts/routingSettings";
import { KubernetesDiscovery } from "../../router/kubernetes";
import { VersionTable } from "../../router/versionTable";
import { clusterCli } from "../support/cli";
import { FakeApiServer } from "../support/fakeApiServer";
import { tempDir } from "../support/tmp";
import { settings } from "../support/upstream";

const NS = DEFAULT_NAMESPACE;
const CORE = `/api/v1/namespaces/${NS}`;
const SERVICES = `${CORE}/services`;

describe("CLI: traffic between versions, on a cluster", function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  let kubeconfig: string;

  const cli = clusterCli(() => kubeconfig);
  const shares = (version: string) => {
    const svc = api.get(SERVICES, modelDeploymentName("fraud", version)) as V1Service;
    return parseRoutingSettings(svc.metadata?.annotations?.[SETTINGS_ANNOTATION], "fraud", "test").version;
  };

  before(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = path.join(tempDir("kubeconfig"), "kubeconfig");
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    for (const [version, traffic, mirrorPercent] of [
      ["blue", 90, 0],
      ["green", 10, 0],
      ["shadow", 0, 0],
    ] as const) {
      const labels = { [LABELS.role]: ROLE_MODEL, [LABELS.service]: "fraud", [LABELS.version]: version };
      const name = modelDeploymentName("fraud", version);
      api.apply(SERVICES, { apiVersion: "v1", kind: "Service", metadata: { name, namespace: NS, labels, annotations: { [SETTINGS_ANNOTATION]: JSON.stringify(settings("fraud", { version: { name: version, traffic, mirrorPercent } })) } } });
      api.apply(`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: NS, labels }, spec: { replicas: 1 } });
      api.apply(`${CORE}/pods`, { apiVersion: "v1", kind: "Pod", metadata: { name: `${name}-1`, namespace: NS, labels }, status: { podIP: "10.0.0.1", startTime: new Date("2026-11-25T10:00:00Z"), conditions: [{ type: "Ready", status: "True" }] } });
    }
  });
  after(() => api.close());

  it("state: each version with its share and state", async () => {
    const state = await cli("state", "fraud");
    assert.equal(state.json.state, "Healthy");
    assert.equal(state.json.ready, 3);
    const versions = (state.json.versions as { version: string; traffic: number; state: string }[]).map((v) => `${v.version} ${v.traffic} ${v.state}`);
    assert.deepEqual(versions.sort(), ["blue 90 Healthy", "green 10 Healthy", "shadow 0 Healthy"]);
  });

  it("traffic: patches each version's routing settings, which the router's discovery applies", async () => {
    const discovery = new KubernetesDiscovery(api.kubeConfig(), NS, pino({ level: "silent" }));
    await discovery.ready();
    const table = new VersionTable();
    const seen = () => {
      table.rebuild([...discovery.services().values()].map((v) => v.settings));
      return table.splitOf("fraud");
    };
    try {
      assert.deepEqual(seen(), { versions: [{ name: "blue", traffic: 90 }, { name: "green", traffic: 10 }] });
      const changed = await cli("traffic", "fraud", "blue=50", "green=50", "--mirror", "shadow=20");
      assert.equal(changed.code, 0, JSON.stringify(changed.json));
      assert.deepEqual(changed.json, { versions: [{ name: "blue", traffic: 50 }, { name: "green", traffic: 50 }], mirror: { name: "shadow", percent: 20 } });
      assert.deepEqual([shares("blue"), shares("green"), shares("shadow")], [
        { name: "blue", traffic: 50, mirrorPercent: 0 },
        { name: "green", traffic: 50, mirrorPercent: 0 },
        { name: "shadow", traffic: 0, mirrorPercent: 20 },
      ]);
      // The router's watch sees the new split (no deploy, no restart).
      const deadline = Date.now() + 5_000;
      while (JSON.stringify(seen()) !== JSON.stringify(changed.json) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen(), changed.json);
    } finally {
      await discovery.close();
    }
  });

  it("traffic: refuses a split the stack would refuse, changing nothing", async () => {
    const before = [shares("blue"), shares("green")];
    const bad = await cli("traffic", "fraud", "blue=80", "green=10");
    assert.equal(bad.code, 1);
    assert.match(String(bad.json.error), /versions of 'fraud' must sum to 100, got 90/);
    const unknown = await cli("traffic", "fraud", "blue=90", "red=10");
    assert.match(String(unknown.json.error), /service 'fraud' has no version 'red' \(it has 'blue', 'green', 'shadow'\)/);
    assert.deepEqual([shares("blue"), shares("green")], before);
  });
});
