/**
 * The user kubeconfig of an Entra-integrated AKS cluster, made usable where `pulumi` runs.
 *
 * With AKS-managed Microsoft Entra integration, `listClusterUserCredential` with `format=exec`
 * returns a kubeconfig whose user runs the kubelogin exec plugin (`kubelogin get-token ...
 * --login devicecode`). Device code needs a person at a browser: neither a CI runner nor a
 * non-interactive `pulumi up` can complete it. kubelogin's `convert-kubeconfig -l azurecli`
 * (kubelogin docs, "Login Modes: Azure CLI") rewrites the arguments to
 * `get-token --login azurecli --server-id <AKS server app>`, which takes the token from the
 * Azure CLI's signed-in context: `az login` on a laptop, `azure/login` (OIDC, federated
 * credential) in GitHub Actions. This module does the same rewrite as a pure function of the
 * text (with the `yaml` library), so the program needs no kubelogin at plan time.
 *
 * Only the `args` list whose first item is `get-token` (kubelogin's) is touched; a kubeconfig
 * without one (a cluster without Entra integration, a token kubeconfig) comes back unchanged.
 */

import { isMap, isScalar, isSeq, parseDocument } from "yaml";

/** kubelogin login modes this stack may write (kubelogin docs, "Login Modes"). */
export type KubeloginLogin = "azurecli" | "workloadidentity" | "devicecode";

/**
 * kubelogin's `get-token` arguments for `login`: `--login` set (or added), and `--client-id`
 * dropped, which only the interactive modes use (it names Azure's public kubelogin client), as
 * `convert-kubeconfig -l azurecli` drops it.
 */
export function kubeloginArgs(args: readonly string[], login: KubeloginLogin): string[] {
  const out: string[] = [];
  let loginSet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--client-id" && login !== "devicecode") {
      i++;
    } else if (a.startsWith("--client-id=") && login !== "devicecode") {
      continue;
    } else if (a === "--login" || a === "-l") {
      out.push("--login", login);
      loginSet = true;
      i++;
    } else if (a.startsWith("--login=")) {
      out.push(`--login=${login}`);
      loginSet = true;
    } else {
      out.push(a);
    }
  }
  if (!loginSet) out.push("--login", login);
  return out;
}

/** `kubeconfig` (YAML, as AKS returns it) with kubelogin's exec arguments set to sign in with `login`; unchanged text when no user runs kubelogin. */
export function withKubeloginLogin(kubeconfig: string, login: KubeloginLogin = "azurecli"): string {
  const doc = parseDocument(kubeconfig);
  const users = doc.get("users");
  let changed = false;
  if (isSeq(users)) {
    for (const user of users.items) {
      if (!isMap(user)) continue;
      const args = user.getIn(["user", "exec", "args"]);
      if (!isSeq(args)) continue;
      const values = args.items.map((a) => String(isScalar(a) ? a.value : a));
      if (values[0] !== "get-token") continue;
      user.setIn(["user", "exec", "args"], doc.createNode(kubeloginArgs(values, login)));
      changed = true;
    }
  }
  return changed ? doc.toString() : kubeconfig;
}
