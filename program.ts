/**
 * A stack of this repository is one `InferenceEnvironment` named after the stack, built from the
 * stack's config as `index.ts` validated it (once: the environment takes the config as it is).
 * `index.ts` calls this; so do `npm run plan` and the tests, under mocks.
 */
import * as path from "node:path";
import type { StackConfig } from "./core/config";
import { InferenceEnvironment } from "./components/inferenceEnvironment";

export interface StackDeps {
  /** Folder the stack config's models, project folders and environment files are relative to (default: this repository). */
  projectRoot?: string;
}

export function createStack(cfg: StackConfig, deps: StackDeps = {}) {
  // The stacks deployed before the component existed hold these resources under the stack
  // itself: `formerStackLayout` aliases them, so no resource is replaced.
  const env = InferenceEnvironment.fromStackConfig(cfg, { projectRoot: deps.projectRoot ?? path.resolve(__dirname), formerStackLayout: true });
  return {
    resourceGroupName: env.resourceGroupName,
    clusterName: env.clusterName,
    kubeconfig: env.kubeconfig,
    registryLoginServer: env.registryLoginServer,
    storageAccountName: env.storageAccountName,
    storageBlobEndpoint: env.storageBlobEndpoint,
    endpointIp: env.endpointIp,
    endpointFqdn: env.endpointFqdn,
    scoringHost: env.scoringHost,
    requiredHosts: env.requiredHosts,
    firewallPrivateIp: env.firewallPrivateIp,
    firewallPublicIp: env.firewallPublicIp,
    routerImage: env.routerImage,
    services: env.services,
    serviceKeys: env.serviceKeys,
  };
}

export type StackOutputs = ReturnType<typeof createStack>;
