/**
 * A stack of this repository is one `InferenceEnvironment` named after the stack, built from the
 * stack's validated config. `index.ts` calls this; so do `npm run plan` and the tests, under mocks.
 */
import * as path from "node:path";
import type { StackConfig } from "./core/config";
import { configToArgs } from "./core/environmentArgs";
import { InferenceEnvironment } from "./components/inferenceEnvironment";
import type { AcrTokenExchange } from "./components/k8s/images";

export interface StackDeps {
  /** Folder with the project folders, models and Dockerfiles (default: this repository). */
  repoRoot?: string;
  /** How image pushes get an ACR password (default: the Entra token exchange). */
  acrToken?: AcrTokenExchange;
}

export function createStack(cfg: StackConfig, deps: StackDeps = {}) {
  // The stacks deployed before the component existed hold these resources under the stack
  // itself: `formerStackLayout` aliases them, so no resource is replaced.
  const env = new InferenceEnvironment(cfg.stack, { ...configToArgs(cfg), projectRoot: deps.repoRoot ?? path.resolve(__dirname) }, { acrToken: deps.acrToken, formerStackLayout: true });
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
