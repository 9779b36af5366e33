/**
 * Every Kubernetes object the stack renders, validated against the Kubernetes API schemas
 * (kubernetes-models), so a broken manifest fails `npm test`, not `pulumi up`. Field-name typos
 * in literal manifests are caught earlier still, by the type check of @pulumi/kubernetes' input types.
 */
import * as assert from "node:assert/strict";
import type { PlannedResource } from "../../scripts/offline";
import { Plan, stackConfig } from "../support/stacks";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;

/** `kubernetes:apps/v1:Deployment` → the kubernetes-models class for apps/v1 Deployment (core: `v1/<Kind>`). */
function modelClass(type: string): ModelClass {
  const m = /^kubernetes:(.+)\/(v[^/:]+):(.+)$/.exec(type);
  if (!m) throw new Error(`not a Kubernetes type: ${type}`);
  const [, group, version, kind] = m;
  const mod = require(group === "core" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`) as Record<string, ModelClass>;
  return mod[kind];
}

/** The manifest as it would be sent: Pulumi's unknowns (values only known after apply) become placeholders of the right type. */
function manifest(r: PlannedResource): Record<string, unknown> {
  const fill = (v: unknown, key: string): unknown => {
    if (v === "[unknown]" || v === "[secret]") return key === "stringData" || key === "data" || key === "annotations" || key === "labels" ? {} : "placeholder";
    if (Array.isArray(v)) return v.map((x) => fill(x, key));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fill(x, k)]));
    return v;
  };
  return fill(r.inputs, "") as Record<string, unknown>;
}

/** Custom resources whose CRDs kubernetes-models does not ship (checked by their own tests, test/k8s/tls.test.ts). */
const NO_SCHEMA = new Set(["kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"]);

function kubernetesObjects(plan: Plan): PlannedResource[] {
  return plan.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !NO_SCHEMA.has(r.type));
}

describe("Kubernetes schema validation", function () {
  this.timeout(60_000);

  for (const stack of ["dev", "prod"]) {
    it(`accepts every object of the ${stack} stack`, async () => {
      const objects = kubernetesObjects(await Plan.of(stackConfig(stack)));
      assert.ok(objects.length >= 8, `only ${objects.length} Kubernetes objects`);
      for (const r of objects) {
        const Model = modelClass(r.type);
        assert.ok(Model, `no schema for ${r.type}`);
        // Named in the failure: doesNotThrow's second argument would be taken as an error matcher, not a message.
        try {
          new Model(manifest(r)).validate();
        } catch (err) {
          assert.fail(`${r.type} ${r.name}: ${(err as Error).message}`);
        }
      }
    });
  }

  it("rejects a manifest with a misspelled required field or a wrong type", async () => {
    const deployment = kubernetesObjects(await Plan.of(stackConfig("dev"))).find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    const good = manifest(deployment) as { spec: { template: { spec: Record<string, unknown> } } };
    const Model = modelClass(deployment.type);
    const typo = structuredClone(good);
    typo.spec.template.spec.containres = typo.spec.template.spec.containers;
    delete typo.spec.template.spec.containers;
    assert.throws(() => new Model(typo).validate(), /containers/);
    const wrongType = structuredClone(good) as unknown as { spec: { replicas: unknown } };
    wrongType.spec.replicas = "three";
    assert.throws(() => new Model(wrongType as unknown as Record<string, unknown>).validate(), /replicas/);
  });
});
