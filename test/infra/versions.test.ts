/**
 * Versions in the stack: one Deployment and Service per version, the split in each version's
 * routing settings, and an upgrade that leaves every service without versions (and a service's
 * keys) as it was.
 */
import * as assert from "node:assert/strict";
import { parseRoutingSettings } from "../../core/contracts/routingSettings";
import { LABELS, SCORING_ENV, SETTINGS_ANNOTATION } from "../../core/contracts/naming";
import { Plan, input, rawStack, stackConfig, stackWithoutVersions } from "../support/stacks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";

/** The dev stack with regressor's versions given as `versions`. */
function devWith(versions: Record<string, unknown>[]) {
  const services = (rawStack("dev")["aks-inference:services"] as Record<string, unknown>[]).map((s) => (s.name === "regressor" ? { ...s, versions } : s));
  return stackConfig("dev", { "aks-inference:services": services });
}

describe("stack: versions of a service", function () {
  this.timeout(120_000);
  let former: Plan;
  let after: Plan;
  before(async () => {
    former = await Plan.of(stackWithoutVersions("dev"));
    after = await Plan.of(stackConfig("dev"));
  });

  it("leaves every URN of the services without versions, and the key Secret of the one with versions, unchanged", () => {
    const urns = (p: Plan) => new Set(p.resources.map((r) => r.urn));
    const gone = [...urns(former)].filter((u) => !urns(after).has(u));
    // Only the one Deployment, its disruption budget and the Service of regressor's former single
    // version make way for its versions'.
    assert.deepEqual(gone.map((u) => u.split("::").pop()).sort(), ["svc-regressor-deployment", "svc-regressor-pdb", "svc-regressor-service"]);
    const added = [...urns(after)].filter((u) => !urns(former).has(u)).map((u) => u.split("::").pop());
    assert.deepEqual(added.sort(), [
      "storage-models-regressor-eff9a0592bc3e9f5-regressor-v2.onnx",
      "svc-regressor-v1-deployment",
      "svc-regressor-v1-pdb",
      "svc-regressor-v1-service",
      "svc-regressor-v2-deployment",
      "svc-regressor-v2-pdb",
      "svc-regressor-v2-service",
    ]);
    for (const name of ["svc-echo-deployment", "svc-diabetes-service", "svc-regressor-keys"]) {
      const [was, is] = [former, after].map((p) => p.resources.find((r) => r.name === name)!);
      assert.deepEqual(is.inputs, was.inputs, `${name} is not changed`);
    }
  });

  it("gives each version its Deployment and Service, selected by version, with its share in the routing settings", () => {
    for (const [version, traffic, model] of [
      ["v1", 90, { name: "regressor", version: 1, prefix: "regressor/293f82051a603fc1/" }],
      ["v2", 10, { name: "regressor", version: 2, prefix: "regressor/eff9a0592bc3e9f5/" }],
    ] as const) {
      const d = after.one(DEPLOYMENT, `svc-regressor-${version}-deployment`);
      assert.equal(input(d, "metadata", "name"), `model-regressor-${version}`);
      assert.deepEqual(input(d, "spec", "selector", "matchLabels"), { [LABELS.role]: "model", [LABELS.service]: "regressor", [LABELS.version]: version });
      assert.equal(input(d, "spec", "template", "metadata", "labels", LABELS.version), version);
      const env = input(d, "spec", "template", "spec", "containers", 0, "env") as { name: string; value?: string }[];
      // Each version downloads its own model (regressor-v2.onnx has another content hash).
      assert.deepEqual(JSON.parse(String(env.find((e) => e.name === SCORING_ENV.modelBlobs)?.value)), [model]);
      const s = after.one(SERVICE, `svc-regressor-${version}-service`);
      assert.deepEqual(input(s, "spec", "selector"), { [LABELS.role]: "model", [LABELS.service]: "regressor", [LABELS.version]: version });
      const settings = parseRoutingSettings(String(input(s, "metadata", "annotations", SETTINGS_ANNOTATION)), "regressor", "test");
      assert.deepEqual(settings.version, { name: version, traffic, mirrorPercent: 0 });
      assert.equal(settings.authMode, "key", "auth is the service's");
    }
  });

  it("a changed split changes only the routing settings, never a Deployment (no restart)", async () => {
    const split = await Plan.of(devWith([{ name: "v1", traffic: 50 }, { name: "v2", traffic: 50, models: [{ name: "regressor", path: "samples/models/regressor-v2.onnx", version: 2 }] }]));
    for (const r of after.resources) {
      const other = split.byUrn(r.urn);
      assert.ok(other, `${r.urn} still there`);
      if (r.type === SERVICE && r.name.startsWith("svc-regressor-v")) {
        const { annotations: a, ...meta } = r.inputs.metadata as Record<string, unknown>;
        const { annotations: b, ...otherMeta } = other.inputs.metadata as Record<string, unknown>;
        assert.deepEqual(otherMeta, meta);
        assert.notDeepEqual(b, a, "the split is in the annotation");
      } else {
        assert.deepEqual(other.inputs, r.inputs, `${r.name} unchanged`);
      }
    }
  });
});
