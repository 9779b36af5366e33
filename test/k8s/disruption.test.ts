/**
 * Issue #26 item 11, "Upgrades", on the model services: a Deployment whose replica count can
 * exceed one gets a PodDisruptionBudget (node drains evict one pod at a time) and a topology
 * spread over nodes (and zones on a zonal cluster), so a node upgrade never takes all its pods
 * at once. A single-replica Deployment gets neither.
 */
import * as assert from "node:assert/strict";
import type { PlannedResource } from "../../scripts/offline";
import { Plan, input, stackConfig } from "../support/stacks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

const modelDeployments = (plan: Plan) => plan.all(DEPLOYMENT).filter((d) => String(input(d, "metadata", "name")).startsWith("model-"));
const modelPdbs = (plan: Plan) => plan.all(PDB).filter((p) => String(input(p, "metadata", "name")).startsWith("model-"));
const nameOf = (r: PlannedResource) => String(input(r, "metadata", "name"));

describe("model service disruption budgets and spread", function () {
  this.timeout(120_000);

  const expectations = {
    // dev: regressor's versions autoscale 1-4; echo and diabetes run one fixed replica.
    dev: { several: ["model-regressor-v1", "model-regressor-v2"], single: ["model-diabetes", "model-echo"], zonal: false },
    // prod: regressor 2-20, regressor-gpu 1-3, echo two fixed replicas.
    prod: { several: ["model-echo", "model-regressor", "model-regressor-gpu"], single: [], zonal: true },
  } as const;

  for (const [stack, want] of Object.entries(expectations)) {
    it(`${stack}: a PodDisruptionBudget of maxUnavailable 1 on exactly each multi-replica Deployment's pods, in its namespace`, async () => {
      const plan = await Plan.of(stackConfig(stack));
      const deployments = new Map(modelDeployments(plan).map((d) => [nameOf(d), d]));
      assert.deepEqual([...deployments.keys()].sort(), [...want.several, ...want.single].sort());
      const pdbs = modelPdbs(plan);
      assert.deepEqual(pdbs.map(nameOf).sort(), [...want.several].sort(), "one PDB per multi-replica Deployment, named after it");
      for (const pdb of pdbs) {
        const d = deployments.get(nameOf(pdb))!;
        assert.deepEqual(input(pdb, "spec"), { maxUnavailable: 1, selector: { matchLabels: input(d, "spec", "selector", "matchLabels") } }, nameOf(pdb));
        assert.equal(input(pdb, "metadata", "namespace"), input(d, "metadata", "namespace"));
        assert.equal(pdb.parentUrn, d.parentUrn, "a child of the service's component");
        assert.equal(pdb.provider, d.provider, "on the cluster's Kubernetes provider");
      }
    });

    it(`${stack}: multi-replica pods spread over nodes${want.zonal ? " and zones" : ""}, softly; single-replica pods as before`, async () => {
      const plan = await Plan.of(stackConfig(stack));
      for (const d of modelDeployments(plan)) {
        const spread = input(d, "spec", "template", "spec", "topologySpreadConstraints");
        if ((want.single as readonly string[]).includes(nameOf(d))) {
          assert.equal(spread, undefined, nameOf(d));
          continue;
        }
        const selector = { matchLabels: input(d, "spec", "selector", "matchLabels") };
        assert.deepEqual(
          spread,
          [
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: selector },
            ...(want.zonal ? [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: selector }] : []),
          ],
          nameOf(d),
        );
      }
    });
  }

  it("follows the replica settings: a fixed single replica has no budget, an autoscaled one that may grow has one", async () => {
    const raw = (svc: Record<string, unknown>) =>
      stackConfig("dev", { "aks-inference:services": [{ name: "echo", sourceDirectory: "samples/echo", entryScript: "score.js", ...svc }] });
    const budgets = async (svc: Record<string, unknown>) => modelPdbs(await Plan.of(raw(svc))).map(nameOf);
    assert.deepEqual(await budgets({ numReplicas: 1 }), []);
    assert.deepEqual(await budgets({ numReplicas: 3 }), ["model-echo"]);
    assert.deepEqual(await budgets({ autoscaleMinReplicas: 1, autoscaleMaxReplicas: 1 }), []);
    assert.deepEqual(await budgets({ autoscaleMinReplicas: 1, autoscaleMaxReplicas: 2 }), ["model-echo"]);
  });
});
