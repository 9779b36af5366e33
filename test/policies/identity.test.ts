/** The identity and secret rules of the policy pack, each both ways, naming the Microsoft doc. */
import * as assert from "node:assert/strict";
import { WORKLOAD_IDENTITY } from "../../core/contracts/naming";
import { rules, type Res } from "../../policies/rules";

const rule = (name: string) => {
  const r = rules.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};
const stackMessages = (name: string, all: Res[]) => rule(name).stack!(all).map((v) => v.message);

const NS = "aks-inference";
const cluster = (extra: Record<string, unknown> = {}): Res => ({
  type: "azure-native:containerservice:ManagedCluster",
  name: "aks",
  props: { oidcIssuerProfile: { enabled: true }, securityProfile: { workloadIdentity: { enabled: true } }, addonProfiles: { azureKeyvaultSecretsProvider: { enabled: true } }, ...extra },
});
const deployment = (spec: Record<string, unknown>, podLabels: Record<string, string> = {}): Res => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "router-deployment",
  props: { metadata: { name: "aks-inference-router", namespace: NS }, spec: { template: { metadata: { labels: podLabels }, spec: { containers: [{ name: "c" }], ...spec } } } },
});
const secret = (name: string, namespace = NS): Res => ({ type: "kubernetes:core/v1:Secret", name: `${name}-res`, props: { metadata: { name, namespace } } });
const serviceAccount = (name: string, clientId?: string): Res => ({
  type: "kubernetes:core/v1:ServiceAccount",
  name: `${name}-sa`,
  props: { metadata: { name, namespace: NS, annotations: clientId ? { [WORKLOAD_IDENTITY.clientIdAnnotation]: clientId } : {} } },
});
const providerClass = (name: string, extra: Record<string, unknown> = {}): Res => ({
  type: "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
  name: "router-tls",
  props: { metadata: { name, namespace: NS }, spec: { provider: "azure", parameters: { usePodIdentity: "false", clientID: "client", keyvaultName: "kv" }, ...extra } },
});
const federated = (subject: string): Res => ({
  type: "azure-native:managedidentity:FederatedIdentityCredential",
  name: "fic",
  props: { subject, issuer: "https://issuer", audiences: [WORKLOAD_IDENTITY.audience] },
});
const csiVolume = (spc: string) => ({ name: "tls", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: spc } } });

describe("policy pack: identity and secrets", () => {
  it("refuses a storage account that allows Shared Key authorization", () => {
    const account = (allowSharedKeyAccess?: boolean): Res => ({ type: "azure-native:storage:StorageAccount", name: "storage", props: allowSharedKeyAccess === undefined ? {} : { allowSharedKeyAccess } });
    const r = rule("storage-no-shared-key");
    assert.equal(r.enforcementLevel, "mandatory");
    const [message] = r.resource!(account(true));
    assert.match(message, /Storage account 'storage' allows Shared Key authorization/);
    assert.match(message, /rule storage-no-shared-key; Microsoft: "Prevent Shared Key authorization for an Azure Storage account"/);
    assert.equal(r.resource!(account()).length, 1, "unset is Azure's default: keys allowed");
    assert.deepEqual(r.resource!(account(false)), []);
  });

  it("refuses a router that mounts a TLS Secret the stack does not create, and accepts one it creates", () => {
    const router = deployment({ volumes: [{ name: "tls", secret: { secretName: "ml-contoso-com-tls" } }] });
    const [message] = stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), router]);
    assert.match(message, /Deployment 'router-deployment' references Secret 'ml-contoso-com-tls' in namespace 'aks-inference', which this stack does not create/);
    assert.match(message, /Microsoft: "Use the Azure Key Vault provider for Secrets Store CSI Driver in an Azure Kubernetes Service \(AKS\) cluster"/);
    assert.deepEqual(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), router, secret("ml-contoso-com-tls")]), []);
    assert.equal(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), router, secret("ml-contoso-com-tls", "other")]).length, 1, "a Secret in another namespace does not count");
    const synced = providerClass("router-tls", { secretObjects: [{ secretName: "ml-contoso-com-tls", type: "kubernetes.io/tls" }] });
    assert.deepEqual(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), router, synced]), [], "a Secret synced by a SecretProviderClass of the stack counts");
  });

  it("checks env secretKeyRefs, SecretProviderClasses, the CSI add-on and ServiceAccounts the same way", () => {
    const envRef = deployment({ containers: [{ name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "storage", key: "connectionString" } } }] }] });
    assert.match(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), envRef])[0], /references Secret 'storage'/);
    const csi = deployment({ volumes: [csiVolume("router-tls")] });
    assert.match(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), csi])[0], /references SecretProviderClass 'router-tls'/);
    assert.deepEqual(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), csi, providerClass("router-tls")]), []);
    const noAddon = stackMessages("pods-reference-only-what-the-stack-creates", [cluster({ addonProfiles: {} }), csi, providerClass("router-tls")]);
    assert.match(noAddon[0], /does not enable the azureKeyvaultSecretsProvider add-on/);
    const sa = deployment({ serviceAccountName: "aks-inference-model" });
    assert.match(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), sa])[0], /references ServiceAccount 'aks-inference-model'/);
    assert.deepEqual(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), sa, serviceAccount("aks-inference-model")]), []);
    const unknown = deployment({ volumes: [{ name: "tls", secret: { secretName: "[unknown]" } }] });
    assert.deepEqual(stackMessages("pods-reference-only-what-the-stack-creates", [cluster(), unknown]), [], "a name only known after apply comes from a resource of the stack");
  });

  it("requires a federated credential for exactly the ServiceAccount a workload-identity pod runs as", () => {
    const pods = deployment({ serviceAccountName: "aks-inference-model" }, { [WORKLOAD_IDENTITY.useLabel]: "true" });
    const sa = serviceAccount("aks-inference-model", "client-id");
    const good = [cluster(), pods, sa, federated("system:serviceaccount:aks-inference:aks-inference-model")];
    assert.deepEqual(stackMessages("workload-identity-federated", good), []);
    const wrongSubject = stackMessages("workload-identity-federated", [cluster(), pods, sa, federated("system:serviceaccount:aks-inference:default")]);
    assert.match(wrongSubject[0], /as 'system:serviceaccount:aks-inference:aks-inference-model', but no federated identity credential of this stack trusts that subject/);
    assert.match(wrongSubject[0], /Microsoft: "Use Microsoft Entra Workload ID with Azure Kubernetes Service \(AKS\)"/);
    assert.match(stackMessages("workload-identity-federated", [cluster(), pods, serviceAccount("aks-inference-model"), federated("system:serviceaccount:aks-inference:aks-inference-model")])[0], /no azure\.workload\.identity\/client-id annotation/);
    assert.match(stackMessages("workload-identity-federated", [cluster({ oidcIssuerProfile: { enabled: false } }), pods, sa, federated("system:serviceaccount:aks-inference:aks-inference-model")])[0], /does not enable oidcIssuerProfile/);
    assert.deepEqual(stackMessages("workload-identity-federated", [cluster(), deployment({ serviceAccountName: "x" })]), [], "pods without workload identity are not concerned");
  });

  it("treats a router reading its certificate through a CSI volume with a client ID as a workload-identity pod", () => {
    const router = deployment({ serviceAccountName: "aks-inference-router", volumes: [csiVolume("router-tls")] });
    const base = [cluster(), router, providerClass("router-tls"), serviceAccount("aks-inference-router", "client")];
    assert.match(stackMessages("workload-identity-federated", base)[0], /no federated identity credential/);
    assert.deepEqual(stackMessages("workload-identity-federated", [...base, federated("system:serviceaccount:aks-inference:aks-inference-router")]), []);
  });
});
