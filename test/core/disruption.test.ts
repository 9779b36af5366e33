/** Which model Deployments get a disruption budget and a spread, and what the spread is. */
import * as assert from "node:assert/strict";
import { mayRunSeveralReplicas, topologySpread } from "../../core/decisions/disruption";

describe("disruption rules of model Deployments", () => {
  it("counts a Deployment as several replicas when autoscaling may go above one, or a fixed count is above one", () => {
    assert.equal(mayRunSeveralReplicas({ autoscaleEnabled: true, autoscaleMaxReplicas: 2, initialReplicas: 1 }), true);
    assert.equal(mayRunSeveralReplicas({ autoscaleEnabled: true, autoscaleMaxReplicas: 1, initialReplicas: 3 }), false, "autoscaling decides, not the initial count");
    assert.equal(mayRunSeveralReplicas({ autoscaleEnabled: false, autoscaleMaxReplicas: 10, initialReplicas: 2 }), true);
    assert.equal(mayRunSeveralReplicas({ autoscaleEnabled: false, autoscaleMaxReplicas: 10, initialReplicas: 1 }), false, "a fixed count decides without autoscaling");
  });

  it("spreads softly over nodes, and over zones on a zonal cluster, selecting the Deployment's own pods", () => {
    const labels = { app: "m" };
    const node = { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } };
    assert.deepEqual(topologySpread(labels, false), [node]);
    assert.deepEqual(topologySpread(labels, true), [node, { ...node, topologyKey: "topology.kubernetes.io/zone" }]);
  });
});
