/**
 * The offline runner reads what Pulumi's documented mocks do not hand out (parent, dependencies,
 * provider of each registration) from the runtime's monitor. This pins that capture, so a
 * @pulumi/pulumi upgrade that changes it fails here by name instead of as odd stack-test results.
 */
import * as assert from "node:assert/strict";
import { Plan, stackConfig } from "../support/stacks";

describe("offline runner: what it captures from the runtime", function () {
  this.timeout(60_000);

  it("records each registration's parent, dependencies, provider and inputs", async () => {
    const plan = await Plan.of(stackConfig("dev"));
    const cluster = plan.one("azure-native:containerservice:ManagedCluster");
    assert.match(cluster.urn, /^urn:pulumi:dev::aks-inference::.*azure-native:containerservice:ManagedCluster::aks$/);
    assert.ok(cluster.parentUrn?.includes("aks-inference:index:InferenceEnvironment$aks-inference:index:Cluster"), `parent: ${cluster.parentUrn}`);
    assert.ok(cluster.dependencies.length > 0, "data dependencies and dependsOn are captured");
    assert.equal((cluster.inputs as { networkProfile: { networkPlugin: string } }).networkProfile.networkPlugin, "kubenet");
    const routerDeployment = plan.all("kubernetes:apps/v1:Deployment").find((d) => d.name === "router-deployment")!;
    assert.match(routerDeployment.provider ?? "", /pulumi:providers:kubernetes::/, "the explicit Kubernetes provider is captured");
    assert.ok(plan.dependsOn(routerDeployment, cluster), "transitive dependencies are walkable");
    const components = plan.resources.filter((r) => r.type.startsWith("aks-inference:"));
    assert.ok(components.length > 0 && components.every((r) => !r.custom), "components are told apart from custom resources");
    assert.ok(plan.resources.filter((r) => r.type.startsWith("azure-native:") && !r.type.startsWith("azure-native:index")).every((r) => r.custom));
  });
});
