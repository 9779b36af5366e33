/** Stamping fixtures shared by the pure tests (test/core/config/stamp.test.ts) and the script's (test/stamp/). */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./stacks";

/** A shipped stack file's text: the templates users stamp from. */
export const stackText = (stack: string) => readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");

/** Prod's values specific to its environment, as the refusal lists them. */
export const PROD_SPECIFIC = [
  "aks-inference:network.subnetId",
  "aks-inference:network.routeTableId",
  "aks-inference:firewall.policyId",
  "aks-inference:firewall.privateIp",
  "aks-inference:firewall.publicIp",
  "aks-inference:endpoint.customDomain",
  "aks-inference:endpoint.internalIp",
  "aks-inference:endpoint.tls.keyVault.id",
  "aks-inference:endpoint.tls.keyVault.certificateName",
  "aks-inference:dns.resolverVnetId",
  "aks-inference:dns.records",
  "aks-inference:tokenIssuer.issuer",
  "aks-inference:tokenIssuer.jwksUri",
  "aks-inference:tokenIssuer.audience",
];

export const NEU_SUBNET = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/vnet-neu/subnets/snet-aks";

/** What prod's environment-specific values become in a North Europe copy. */
export const PROD_NEU = {
  set: [
    `network.subnetId=${NEU_SUBNET}`,
    "network.routeTableId=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-neu/providers/Microsoft.Network/routeTables/rt-aks-neu",
    "endpoint.customDomain=ml-neu.contoso.com",
    'dns.records=[{"zone":"internal.contoso.com","name":"ml","type":"CNAME","value":"ml-neu.contoso.com"}]',
    "tokenIssuer.audience=api://aks-inference-prod-neu",
  ],
  keep: ["firewall", "endpoint.internalIp", "endpoint.tls.keyVault", "dns.resolverVnetId", "tokenIssuer.issuer", "tokenIssuer.jwksUri"],
};
