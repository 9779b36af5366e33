/**
 * No account keys: the shipped stacks, evaluated offline, reach blob storage only with Entra
 * identities (model pods with AKS workload identity, uploads with the deployer's), each granted
 * a data role on the containers it uses.
 */
import * as assert from "node:assert/strict";
import { BLOB_CONTAINERS, LABELS, MODEL_SERVICE_ACCOUNT, SCORING_ENV, WORKLOAD_IDENTITY } from "../../core/contracts/naming";
import { evaluate } from "../../policies/rules";
import { BUILTIN_ROLES } from "../../components/roles";
import { runOffline } from "../../scripts/offline";
import { Plan, input, stackConfig } from "../support/stacks";

const T = {
  cluster: "azure-native:containerservice:ManagedCluster",
  account: "azure-native:storage:StorageAccount",
  container: "azure-native:storage:BlobContainer",
  role: "azure-native:authorization:RoleAssignment",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  federated: "azure-native:managedidentity:FederatedIdentityCredential",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
};

type PodSpec = { serviceAccountName?: string; containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] };

for (const stack of ["dev", "prod"]) {
  describe(`blob storage without account keys (${stack})`, function () {
    this.timeout(60_000);
    let plan: Plan;
    const invoked: string[] = [];
    before(async () => {
      plan = new Plan(await runOffline(stackConfig(stack), { preview: false, onInvoke: (token) => invoked.push(token) }));
    });
    const modelDeployments = () => plan.all(T.deployment).filter((d) => input(d, "metadata", "labels", LABELS.role) === "model");

    it("never reads an account key, and the account refuses Shared Key authorization", () => {
      assert.ok(invoked.includes("azure-native:authorization:getClientConfig"), "the capture sees the program's invokes");
      assert.deepEqual(invoked.filter((t) => /listStorageAccountKeys|listStorageAccountSAS|listStorageAccountServiceSAS/i.test(t)), []);
      assert.equal(input(plan.one(T.account), "allowSharedKeyAccess"), false);
      assert.ok(!plan.resources.some((r) => JSON.stringify(r.inputs).includes("AccountKey=")), "no connection string with a key anywhere");
      assert.equal(plan.all(T.secret).filter((s) => /storage/.test(String(input(s, "metadata", "name")))).length, 0, "no storage Secret in the cluster");
    });

    it("turns on the cluster's OIDC issuer and workload identity", () => {
      const cluster = plan.one(T.cluster);
      assert.equal(input(cluster, "oidcIssuerProfile", "enabled"), true);
      assert.equal(input(cluster, "securityProfile", "workloadIdentity", "enabled"), true);
    });

    it("federates the model identity with exactly the ServiceAccount the model pods run as", () => {
      const ns = stackConfig(stack).namespace;
      const sa = plan.all(T.serviceAccount).find((s) => input(s, "metadata", "name") === MODEL_SERVICE_ACCOUNT);
      assert.ok(sa, "no model ServiceAccount");
      const identity = plan.all(T.identity).find((i) => i.name === "model-identity")!;
      const federated = plan.all(T.federated).find((f) => f.name === "model-identity-federated")!;
      assert.equal(input(federated, "subject"), `system:serviceaccount:${ns}:${MODEL_SERVICE_ACCOUNT}`);
      assert.deepEqual(input(federated, "audiences"), [WORKLOAD_IDENTITY.audience]);
      assert.match(String(input(federated, "issuer")), /^https:\/\/westeurope\.oic\.prod-aks\.azure\.com\//, "the cluster's OIDC issuer URL");
      assert.equal(input(federated, "resourceName"), input(identity, "resourceName") ?? identity.name);
      assert.match(String(input(sa, "metadata", "annotations", WORKLOAD_IDENTITY.clientIdAnnotation)), /^00000000-0000-0000-0001-/, "annotated with the identity's client ID");
      assert.ok(modelDeployments().length > 0);
      for (const d of modelDeployments()) {
        const spec = input(d, "spec", "template", "spec") as PodSpec;
        assert.equal(spec.serviceAccountName, MODEL_SERVICE_ACCOUNT, `${d.name} runs as another ServiceAccount`);
        assert.equal(input(d, "spec", "template", "metadata", "labels", WORKLOAD_IDENTITY.useLabel), "true", `${d.name} lacks the workload identity label`);
        assert.ok(plan.dependsOn(d, federated), `${d.name} does not wait for the federated credential`);
        const env = Object.fromEntries(spec.containers[0].env.map((e) => [e.name, e]));
        assert.equal(env[SCORING_ENV.storageAccountUrl]?.value, `https://${stackConfig(stack).storageAccountName}.blob.core.windows.net`);
        assert.equal(env[SCORING_ENV.storageConnectionString], undefined, `${d.name} still gets a connection string`);
      }
    });

    it("grants blob data roles per container: read packages and models, write model data", () => {
      const identity = plan.all(T.identity).find((i) => i.name === "model-identity")!;
      const grants = plan.all(T.role).filter((r) => r.name.startsWith("model-identity-"));
      const containerOf = (scope: string) => plan.all(T.container).find((c) => scope === `BlobContainer-${String(input(c, "containerName"))}-id`);
      const byContainer = Object.fromEntries(grants.map((g) => [String(input(containerOf(String(input(g, "scope")))!, "containerName")), String(input(g, "roleDefinitionId")).split("/").pop()]));
      assert.deepEqual(byContainer, {
        [BLOB_CONTAINERS.packages]: BUILTIN_ROLES.storageBlobDataReader,
        [BLOB_CONTAINERS.models]: BUILTIN_ROLES.storageBlobDataReader,
        [BLOB_CONTAINERS.modelData]: BUILTIN_ROLES.storageBlobDataContributor,
      });
      assert.equal(new Set(grants.map((g) => input(g, "principalId"))).size, 1, "one principal: the model identity's");
      for (const g of grants) assert.ok(plan.dependsOn(g, identity), `${g.name} is not the model identity's`);
      const dataRoles = [BUILTIN_ROLES.storageBlobDataReader, BUILTIN_ROLES.storageBlobDataContributor];
      for (const r of plan.all(T.role).filter((x) => dataRoles.some((id) => String(input(x, "roleDefinitionId")).endsWith(id)))) {
        assert.match(String(input(r, "scope")), /^BlobContainer-/, `${r.name} is scoped wider than one container`);
      }
    });

    it("passes the identity rules of the policy pack", () => {
      const violations = evaluate(plan.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })))
        .filter((v) => ["storage-no-shared-key", "pods-reference-only-what-the-stack-creates", "workload-identity-federated"].includes(v.rule.name))
        .map((v) => v.violation.message);
      assert.deepEqual(violations, []);
    });
  });
}
