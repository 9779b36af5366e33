/**
 * Issue 26, item 10 in the plan: Microsoft Entra ID with Azure RBAC for Kubernetes on every
 * purpose, local accounts off in production, and Kubernetes API access as role assignments at
 * the cluster's scope: the deployer's (before any Kubernetes object), the on-call group's.
 */
import * as assert from "node:assert/strict";
import { DEFAULT_NAMESPACE } from "../../core/contracts/naming";
import { BUILTIN_ROLES } from "../../components/roles";
import { roleAssignmentNameFor } from "../../core/azure/rules";
import { Plan, input, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  role: "azure-native:authorization:RoleAssignment",
  provider: "pulumi:providers:kubernetes",
};
const SUB = "00000000-0000-0000-0000-000000000000";
const TENANT = "00000000-0000-0000-0000-0000000000aa";
const GROUP = "5e0c7a1d-3f0b-4c55-9d1e-2b7f6a9c0d41";
const definition = (role: keyof typeof BUILTIN_ROLES) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES[role]}`;

describe("Entra ID and Azure RBAC for Kubernetes (issue 26, item 10)", function () {
  this.timeout(120_000);
  let dev: Plan;
  let prod: Plan;
  let onCall: Plan;
  before(async () => {
    [dev, prod, onCall] = await Promise.all([
      Plan.shared(stackConfig("dev")),
      Plan.shared(stackConfig("prod")),
      Plan.of(stackConfig("prod", { "aks-inference:access": { onCallGroupObjectId: GROUP } })),
    ]);
  });

  it("integrates every purpose with Entra ID, Kubernetes authorized by Azure RBAC, in the deployer's tenant", () => {
    for (const plan of [dev, prod]) assert.deepEqual(input(plan.one(T.cluster), "aadProfile"), { managed: true, enableAzureRBAC: true, tenantID: TENANT });
  });

  it("disables local accounts on FastProd, keeps them on DevTest", () => {
    assert.equal(input(prod.one(T.cluster), "disableLocalAccounts"), true);
    assert.equal(input(dev.one(T.cluster), "disableLocalAccounts"), false);
  });

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: grants the deployer AKS RBAC Cluster Admin on the cluster, under its deterministic name`, () => {
      const plan = stack === "dev" ? dev : prod;
      const grant = plan.one(T.role, "aks-deployer-rbac-cluster-admin");
      const scope = String(input(grant, "scope"));
      assert.match(scope, new RegExp(`^/subscriptions/${SUB}/resourceGroups/[^/]+/providers/Microsoft\\.ContainerService/managedClusters/${stackConfig(stack).clusterName}$`));
      assert.equal(input(grant, "roleDefinitionId"), definition("aksRbacClusterAdmin"));
      assert.equal(input(grant, "principalId"), "offline");
      assert.equal(input(grant, "principalType"), "ServicePrincipal");
      assert.equal(input(grant, "roleAssignmentName"), roleAssignmentNameFor(scope, definition("aksRbacClusterAdmin"), "offline"));
      assert.ok(plan.dependsOn(grant, plan.one(T.cluster)));
    });
  }

  it("creates the Kubernetes provider, and with it every Kubernetes object, after the deployer's grant", () => {
    for (const plan of [dev, prod]) {
      const provider = plan.one(T.provider, "aks-k8s");
      assert.ok(plan.dependsOn(provider, plan.one(T.role, "aks-deployer-rbac-cluster-admin")));
      const objects = plan.resources.filter((r) => r.type.startsWith("kubernetes:"));
      assert.ok(objects.length > 0);
      for (const r of objects) assert.ok(r.provider?.startsWith(`${provider.urn}::`), `${r.name} uses ${r.provider}`);
    }
  });

  it("grants no on-call group unless configured", () => {
    for (const plan of [dev, prod]) assert.deepEqual(plan.all(T.role).filter((r) => /oncall/.test(r.name)), []);
  });

  it("grants the configured on-call group AKS RBAC Writer on the inference namespace (keys, rotation, scale) and Cluster User Role on the cluster", () => {
    const deployer = onCall.one(T.role, "aks-deployer-rbac-cluster-admin");
    const scope = String(input(deployer, "scope"));
    const namespace = `${scope}/namespaces/${DEFAULT_NAMESPACE}`;
    const grants = onCall.all(T.role).filter((r) => /oncall/.test(r.name));
    assert.deepEqual(
      grants.map((r) => [r.name, input(r, "roleDefinitionId"), input(r, "principalId"), input(r, "principalType"), input(r, "scope"), input(r, "roleAssignmentName")]).sort(),
      [
        ["aks-oncall-cluster-user", definition("aksClusterUser"), GROUP, "Group", scope, roleAssignmentNameFor(scope, definition("aksClusterUser"), GROUP)],
        ["aks-oncall-rbac-writer", definition("aksRbacWriter"), GROUP, "Group", namespace, roleAssignmentNameFor(namespace, definition("aksRbacWriter"), GROUP)],
      ],
    );
  });
});
