/**
 * Issue 26, items 8, 9 and 12 in the plan: the API server's access profile, the TLS vault by its
 * resource ID in another subscription, and the deployer's principal type on its role assignments.
 */
import * as assert from "node:assert/strict";
import { BUILTIN_ROLES } from "../../components/roles";
import { Plan, input, rawStack, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  role: "azure-native:authorization:RoleAssignment",
  spc: "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
};
const VAULT_SUB = "33333333-3333-3333-3333-333333333333";
const VAULT_ID = `/subscriptions/${VAULT_SUB}/resourceGroups/rg-platform-certs/providers/Microsoft.KeyVault/vaults/kv-platform`;
const prodEndpoint = rawStack("prod")["aks-inference:endpoint"] as Record<string, unknown>;

describe("API server access, TLS vault by ID, deployer principal type (issue 26)", function () {
  this.timeout(120_000);
  let dev: Plan;
  let prod: Plan;
  let restricted: Plan;
  let privateCluster: Plan;
  before(async () => {
    [dev, prod, restricted, privateCluster] = await Promise.all([
      Plan.shared(stackConfig("dev")),
      Plan.shared(stackConfig("prod")),
      Plan.of(
        stackConfig("prod", {
          "aks-inference:apiServer": { authorizedIpRanges: ["203.0.113.0/24", "198.51.100.7/32"] },
          "aks-inference:endpoint": { ...prodEndpoint, tls: { keyVault: { id: VAULT_ID, certificateName: "ml-contoso-com" } } },
          "aks-inference:deployer": { principalType: "Group" },
        }),
      ),
      Plan.of(stackConfig("prod", { "aks-inference:apiServer": { private: true } })),
    ]);
  });
  const deployerGrants = (plan: Plan) => plan.all(T.role).filter((r) => /deployer/.test(r.name));

  it("leaves the shipped stacks' API servers as they were: public, unrestricted", () => {
    for (const plan of [dev, prod]) assert.equal(input(plan.one(T.cluster), "apiServerAccessProfile"), undefined);
  });

  it("restricts the API server to the authorized ranges", () => {
    assert.deepEqual(input(restricted.one(T.cluster), "apiServerAccessProfile"), { authorizedIPRanges: ["203.0.113.0/24", "198.51.100.7/32"] });
  });

  it("makes the API server private on request", () => {
    assert.deepEqual(input(privateCluster.one(T.cluster), "apiServerAccessProfile"), { enablePrivateCluster: true });
  });

  it("grants the router the certificate in the vault's own subscription, and names that vault to the CSI driver", () => {
    const grant = restricted.all(T.role).find((r) => r.name === "router-identity-certificate")!;
    assert.equal(input(grant, "scope"), `${VAULT_ID}/secrets/ml-contoso-com`);
    assert.equal(input(grant, "roleDefinitionId"), `/subscriptions/${VAULT_SUB}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES.keyVaultSecretsUser}`);
    const params = input(restricted.one(T.spc), "spec", "parameters") as Record<string, string>;
    assert.equal(params.keyvaultName, "kv-platform");
    assert.equal(params.tenantId, "00000000-0000-0000-0000-0000000000aa");
  });

  it("names the deployer as configured, else as its token says (the offline token is no JWT: ServicePrincipal)", () => {
    assert.ok(deployerGrants(prod).length > 0);
    for (const r of deployerGrants(prod)) assert.equal(input(r, "principalType"), "ServicePrincipal", r.name);
    assert.ok(deployerGrants(restricted).length > 0);
    for (const r of deployerGrants(restricted)) assert.equal(input(r, "principalType"), "Group", r.name);
  });
});
