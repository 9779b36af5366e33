/**
 * The router's TLS certificate can always be mounted: from Azure Key Vault through the AKS Key
 * Vault secrets provider (prod), or from Pulumi secret config into a Secret the stack creates.
 * A Secret the stack does not create is refused at config validation.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Agent, request } from "undici";
import { parse } from "yaml";
import { BUILTIN_ROLES } from "../../components/roles";
import { ROUTER_TLS_DIR, keyVaultObjects } from "../../components/k8s/routerDeployment";
import { ConfigError } from "../../core/config";
import { LABELS, ROUTER_ENV, ROUTER_NAME, ROUTER_TLS_PROVIDER_CLASS, WORKLOAD_IDENTITY } from "../../core/contracts/naming";
import { evaluate, type Res } from "../../policies/rules";
import { LocalDiscovery } from "../../router/inProcess";
import { SECRET, UNKNOWN, type PlannedResource } from "../../scripts/offline";
import { MemoryKeyStore, routerWith, settings, startUpstream } from "../support/upstream";
import { tempDir } from "../support/tmp";
import { Plan, input, rawStack, stackConfig } from "../support/stacks";

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  secret: "kubernetes:core/v1:Secret",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  spc: "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
  federated: "azure-native:managedidentity:FederatedIdentityCredential",
  role: "azure-native:authorization:RoleAssignment",
  cluster: "azure-native:containerservice:ManagedCluster",
};

type Volume = { name: string; secret?: { secretName: string }; csi?: { driver: string; readOnly: boolean; volumeAttributes: Record<string, string> } };
const routerOf = (p: Plan) => p.all(T.deployment).find((d) => input(d, "metadata", "labels", LABELS.role) === "router")!;
const routerSpec = (p: Plan) => input(routerOf(p), "spec", "template", "spec") as { serviceAccountName: string; volumes: Volume[]; containers: { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] }[] };
const routerEnv = (p: Plan) => Object.fromEntries(routerSpec(p).containers[0].env.map((e) => [e.name, e.value]));
const referenceViolations = (p: Plan) =>
  evaluate(p.resources.filter((r) => r.custom).map((r): Res => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })))
    .filter((v) => ["pods-reference-only-what-the-stack-creates", "workload-identity-federated"].includes(v.rule.name))
    .map((v) => v.violation.message);

/** A throw-away certificate as Key Vault returns a certificate read as a secret: key and chain in one PEM. */
function keyVaultBundle(): { bundle: string; cert: string } {
  const dir = tempDir("kv-bundle");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem")], { stdio: "ignore" });
  const cert = readFileSync(path.join(dir, "c.pem"), "utf8");
  const bundle = path.join(dir, "tls.pem");
  writeFileSync(bundle, readFileSync(path.join(dir, "k.pem"), "utf8") + cert);
  return { bundle, cert };
}

describe("router TLS", function () {
  this.timeout(60_000);

  describe("from Azure Key Vault (prod)", () => {
    let prod: Plan;
    before(async () => {
      prod = await Plan.of(stackConfig("prod"));
    });

    it("mounts the certificate through a SecretProviderClass the stack creates in the router's namespace", () => {
      const spec = routerSpec(prod);
      const tls = spec.volumes.find((v) => v.name === "tls")!;
      assert.deepEqual(tls.csi, { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: ROUTER_TLS_PROVIDER_CLASS } });
      assert.deepEqual(spec.containers[0].volumeMounts.find((m) => m.name === "tls")?.mountPath, ROUTER_TLS_DIR);
      const spc = prod.one(T.spc);
      assert.equal(input(spc, "metadata", "name"), ROUTER_TLS_PROVIDER_CLASS);
      assert.equal(input(spc, "metadata", "namespace"), input(routerOf(prod), "metadata", "namespace"));
      assert.equal(input(spc, "spec", "provider"), "azure");
      assert.equal(input(spc, "spec", "secretObjects"), undefined, "no second copy of the private key in a Kubernetes Secret");
      assert.equal(routerEnv(prod)[ROUTER_ENV.tlsCertFile], `${ROUTER_TLS_DIR}/tls.pem`);
      assert.equal(routerEnv(prod)[ROUTER_ENV.tlsKeyFile], `${ROUTER_TLS_DIR}/tls.pem`);
      assert.ok(prod.dependsOn(routerOf(prod), spc), "the router waits for its SecretProviderClass");
      assert.deepEqual(referenceViolations(prod), []);
    });

    it("reads exactly the configured certificate, as a secret (key and chain), with the router's workload identity", () => {
      const vault = stackConfig("prod").endpoint.tls!.keyVault!;
      const params = input(prod.one(T.spc), "spec", "parameters") as Record<string, string>;
      assert.equal(params.keyvaultName, "kv-contoso-certs");
      assert.equal(params.usePodIdentity, "false");
      assert.equal(params.tenantId, "00000000-0000-0000-0000-0000000000aa", "the deployer's tenant");
      assert.deepEqual(
        (parse(params.objects) as { array: string[] }).array.map((o) => parse(o) as Record<string, string>),
        [{ objectName: vault.certificateName, objectType: "secret", objectAlias: "tls.pem" }],
      );
      assert.equal(params.objects, keyVaultObjects(vault.certificateName));
      const account = prod.all(T.serviceAccount).find((s) => input(s, "metadata", "name") === ROUTER_NAME)!;
      assert.equal(routerSpec(prod).serviceAccountName, ROUTER_NAME);
      assert.equal(input(account, "metadata", "annotations", WORKLOAD_IDENTITY.clientIdAnnotation), params.clientID, "SecretProviderClass and ServiceAccount name one identity");
      const federated = prod.all(T.federated).find((f) => f.name === "router-identity-federated")!;
      assert.equal(input(federated, "subject"), `system:serviceaccount:${stackConfig("prod").namespace}:${ROUTER_NAME}`);
      const grant = prod.all(T.role).find((r) => r.name === "router-identity-certificate")!;
      assert.ok(String(input(grant, "roleDefinitionId")).endsWith(BUILTIN_ROLES.keyVaultSecretsUser));
      assert.equal(
        input(grant, "scope"),
        `${vault.id}/secrets/${vault.certificateName}`,
        "Key Vault Secrets User on that one certificate, not the vault",
      );
      for (const r of [federated, grant]) assert.ok(prod.dependsOn(routerOf(prod), r), `the router does not wait for ${r.name}`);
    });

    it("turns on the AKS Key Vault secrets provider add-on, with rotation", async () => {
      assert.deepEqual(input(prod.one(T.cluster), "addonProfiles", "azureKeyvaultSecretsProvider"), { enabled: true, config: { enableSecretRotation: "true" } });
      const dev = await Plan.of(stackConfig("dev"));
      assert.equal(input(dev.one(T.cluster), "addonProfiles"), undefined, "no TLS from Key Vault, no add-on");
      assert.deepEqual(referenceViolations(dev), []);
    });

    it("registers the same objects on a first preview, where names are not known yet", async () => {
      const preview = await Plan.of(stackConfig("prod"), true);
      assert.equal(preview.all(T.spc).length, 1);
      assert.deepEqual(referenceViolations(preview), []);
    });

    it("serves HTTPS from the mounted bundle used as both certificate and key file", async () => {
      const { bundle, cert } = keyVaultBundle();
      const upstream = await startUpstream("m");
      const discovery = new LocalDiscovery();
      discovery.upsertService(settings("svc", { authMode: "none" }));
      discovery.addReplica("svc", { id: "m", url: upstream.url });
      // What router/main.ts does with ROUTER_TLS_CERT_FILE and ROUTER_TLS_KEY_FILE pointing at one file.
      const router = await routerWith(discovery, new MemoryKeyStore(), { tls: { cert: readFileSync(bundle), key: readFileSync(bundle) } });
      try {
        const res = await request(`${router.url}/api/v1/service/svc/score`, { method: "POST", body: "{}", dispatcher: new Agent({ connect: { ca: cert } }) });
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      } finally {
        await router.close();
        await upstream.close();
      }
    });
  });

  describe("from Pulumi secret config", () => {
    let plan: Plan;
    const endpoint = () => ({ ...(rawStack("prod")["aks-inference:endpoint"] as Record<string, unknown>), tls: { certificate: "-----BEGIN CERTIFICATE-----x", privateKey: "-----BEGIN PRIVATE KEY-----y" } });
    before(async () => {
      plan = await Plan.of(stackConfig("prod", { "aks-inference:endpoint": endpoint() }));
    });

    it("creates the kubernetes.io/tls Secret in the router's namespace and mounts it, keeping the key secret in state", () => {
      const secret = plan.all(T.secret).find((s) => input(s, "type") === "kubernetes.io/tls") as PlannedResource;
      assert.ok(secret, "no TLS Secret");
      assert.equal(input(secret, "metadata", "namespace"), input(routerOf(plan), "metadata", "namespace"));
      assert.ok([SECRET, UNKNOWN].includes(String(input(secret, "stringData"))), "certificate and key are secrets in state");
      const tls = routerSpec(plan).volumes.find((v) => v.name === "tls")!;
      assert.equal(tls.secret?.secretName, input(secret, "metadata", "name"));
      assert.equal(routerEnv(plan)[ROUTER_ENV.tlsKeyFile], `${ROUTER_TLS_DIR}/tls.key`);
      assert.equal(plan.all(T.spc).length, 0);
      assert.equal(input(plan.one(T.cluster), "addonProfiles", "azureKeyvaultSecretsProvider"), undefined);
      assert.equal(plan.all(T.federated).filter((f) => f.name.startsWith("router-")).length, 0, "no router identity without Key Vault");
      assert.deepEqual(referenceViolations(plan), []);
    });
  });

  describe("config validation", () => {
    const withTls = (tls: Record<string, unknown>) => () => stackConfig("prod", { "aks-inference:endpoint": { ...(rawStack("prod")["aks-inference:endpoint"] as Record<string, unknown>), tls } });

    it("refuses a secretName the stack does not create, saying why and what to use instead", () => {
      assert.throws(withTls({ secretName: "ml-contoso-com-tls" }), (err: ConfigError) => {
        assert.match(err.message, /aks-inference:endpoint\.tls\.secretName: is not supported: the stack creates the router's namespace/);
        assert.match(err.message, /endpoint\.tls\.keyVault/);
        return true;
      });
    });

    it("takes either Key Vault or certificate and key, complete", () => {
      assert.throws(withTls({ keyVault: { name: "kv-a", resourceGroupName: "rg", certificateName: "c" }, certificate: "x", privateKey: "y" }), /set keyVault, or certificate and privateKey, not both/);
      assert.throws(withTls({ certificate: "x" }), /certificate and privateKey go together/);
      assert.throws(withTls({}), /endpoint\.tls: set keyVault/);
      assert.throws(withTls({ keyVault: { name: "-bad", resourceGroupName: "rg", certificateName: "c" } }), /endpoint\.tls\.keyVault\.name: must be a Key Vault name/);
      assert.doesNotThrow(withTls({ keyVault: { name: "kv-a", resourceGroupName: "rg", certificateName: "c" } }));
    });
  });
});
