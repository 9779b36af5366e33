/**
 * The Entra user kubeconfig AKS returns (listClusterUserCredential, format exec), rewritten for
 * where `pulumi` runs: kubelogin signs in with the Azure CLI's context instead of a device code.
 */
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { kubeloginArgs, withKubeloginLogin } from "../../core/azure/kubeconfig";

const TENANT = "00000000-0000-0000-0000-0000000000aa";
/** As AKS returns it for a managed Entra cluster with format=exec (block style, kubelogin's install hint). */
const AKS_EXEC_KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://aksinf-prod-4f2a9c1e.hcp.westeurope.azmk8s.io:443
  name: aksinf-prod
contexts:
- context:
    cluster: aksinf-prod
    user: clusterUser_rg-aksinf-prod_aksinf-prod
  name: aksinf-prod
current-context: aksinf-prod
kind: Config
preferences: {}
users:
- name: clusterUser_rg-aksinf-prod_aksinf-prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --environment
      - AzurePublicCloud
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --client-id
      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a
      - --tenant-id
      - ${TENANT}
      - --login
      - devicecode
      command: kubelogin
      env: null
      installHint: |2

        kubelogin is not installed which is required to connect to AAD enabled cluster.

        To learn more, please go to https://aka.ms/aks/kubelogin
      provideClusterInfo: false
`;

type Kubeconfig = { users: { user: { exec?: { args: string[]; command: string }; token?: string } }[]; clusters: unknown[]; contexts: unknown[] };

describe("the Entra user kubeconfig, for where pulumi runs", () => {
  it("signs in with the Azure CLI's context: --login azurecli, the device-code client dropped, the rest kept", () => {
    const out = parse(withKubeloginLogin(AKS_EXEC_KUBECONFIG)) as Kubeconfig;
    assert.deepEqual(out.users[0].user.exec!.args, ["get-token", "--environment", "AzurePublicCloud", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630", "--tenant-id", TENANT, "--login", "azurecli"]);
    assert.equal(out.users[0].user.exec!.command, "kubelogin");
  });

  it("changes nothing but the exec arguments", () => {
    const before = parse(AKS_EXEC_KUBECONFIG) as Kubeconfig;
    const after = parse(withKubeloginLogin(AKS_EXEC_KUBECONFIG)) as Kubeconfig;
    after.users[0].user.exec!.args = before.users[0].user.exec!.args;
    assert.deepEqual(after, before);
  });

  it("is idempotent", () => {
    const once = withKubeloginLogin(AKS_EXEC_KUBECONFIG);
    assert.equal(withKubeloginLogin(once), once);
  });

  it("adds --login when the arguments have none, and takes the --login=<mode> form", () => {
    assert.deepEqual(kubeloginArgs(["get-token", "--server-id", "x"], "azurecli"), ["get-token", "--server-id", "x", "--login", "azurecli"]);
    assert.deepEqual(kubeloginArgs(["get-token", "--login=devicecode", "--client-id=c"], "workloadidentity"), ["get-token", "--login=workloadidentity"]);
    assert.deepEqual(kubeloginArgs(["get-token", "-l", "azurecli", "--client-id", "c"], "devicecode"), ["get-token", "--login", "devicecode", "--client-id", "c"]);
  });

  it("leaves a kubeconfig without kubelogin as it is (a token, or another exec plugin)", () => {
    const token = "apiVersion: v1\nkind: Config\nusers:\n- name: clusterUser\n  user:\n    token: abc\n";
    assert.equal(withKubeloginLogin(token), token);
    const other = "users:\n- name: u\n  user:\n    exec:\n      command: aws\n      args:\n      - eks\n      - get-token\n";
    assert.equal(withKubeloginLogin(other), other);
  });
});
