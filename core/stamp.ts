/**
 * Stamping a new environment: a new `Pulumi.<env>.yaml` rendered from an existing stack file
 * (the template) with the new environment's region and purpose, validated with the same
 * `parseStackConfig` as every other entry point before anything is written or created.
 */
import { parseDocument } from "yaml";
import { CLUSTER_PURPOSES, CONFIG_NAMESPACE, LOCATION_KEY, parseStackConfig, type ClusterPurpose, type StackConfig } from "./config";
import { readStackFileText } from "./stackFile";

export interface StampInput {
  /** New stack / environment name, e.g. `test` or `prod-weu`. */
  env: string;
  region: string;
  purpose: ClusterPurpose;
}

export class StampError extends Error {}

/** Stack names become resource names: keep them short, lowercase and DNS-safe. */
const ENV_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Renders the new stack file's text from the template's text (comments and layout kept), and
 * returns it with its validated config. Names derived from the stack (cluster, ACR, storage
 * account) follow the new env unless the template pins them; pinned ones are cleared so two
 * environments never collide on a globally unique name.
 */
export function renderStack(templateText: string, input: StampInput): { text: string; config: StackConfig } {
  if (!ENV_NAME.test(input.env)) throw new StampError(`--env '${input.env}': must be 1-20 lowercase letters, digits and '-', starting with a letter`);
  if (!(CLUSTER_PURPOSES as readonly string[]).includes(input.purpose)) throw new StampError(`--purpose '${input.purpose}': must be one of ${CLUSTER_PURPOSES.join(", ")}`);
  if (!/^[a-z][a-z0-9]+$/.test(input.region)) throw new StampError(`--region '${input.region}': must be an Azure region name such as 'westeurope'`);
  const doc = parseDocument(templateText);
  doc.setIn(["config", LOCATION_KEY], input.region);
  doc.setIn(["config", `${CONFIG_NAMESPACE}:clusterPurpose`], input.purpose);
  for (const pinned of ["clusterName", "registryName", "storageAccountName", "resourceGroupName"]) doc.deleteIn(["config", `${CONFIG_NAMESPACE}:${pinned}`]);
  const tokenIssuer = doc.getIn(["config", `${CONFIG_NAMESPACE}:tokenIssuer`]);
  if (tokenIssuer && doc.hasIn(["config", `${CONFIG_NAMESPACE}:tokenIssuer`, "region"])) doc.setIn(["config", `${CONFIG_NAMESPACE}:tokenIssuer`, "region"], input.region);
  doc.commentBefore = ` Stamped by \`npm run stamp\`: environment '${input.env}', ${input.purpose} in ${input.region}.`;
  const text = doc.toString();
  const config = parseStackConfig(readStackFileText(text), input.env);
  return { text, config };
}
