/**
 * This repository's Pulumi program (Pulumi.yaml `main`): one InferenceEnvironment per stack,
 * named after the stack, from the stack's config. A bad value stops here with its config key
 * named. The package entry for other programs is `lib.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeConfigValue, parseStackConfig } from "./core/config";
import { createStack } from "./program";

/** This stack's raw config, decoded from the strings Pulumi hands over. */
function rawConfig(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pulumi.runtime.allConfig()).map(([key, value]) => [key, decodeConfigValue(value)]));
}

const outputs = createStack(parseStackConfig(rawConfig(), pulumi.getStack()));

export const resourceGroupName = outputs.resourceGroupName;
export const clusterName = outputs.clusterName;
export const kubeconfig = outputs.kubeconfig;
export const registryLoginServer = outputs.registryLoginServer;
export const storageAccountName = outputs.storageAccountName;
export const storageBlobEndpoint = outputs.storageBlobEndpoint;
export const endpointIp = outputs.endpointIp;
export const endpointFqdn = outputs.endpointFqdn;
export const scoringHost = outputs.scoringHost;
export const requiredHosts = outputs.requiredHosts;
export const firewallPrivateIp = outputs.firewallPrivateIp;
export const firewallPublicIp = outputs.firewallPublicIp;
export const routerImage = outputs.routerImage;
/** Per service: scoring URI, swagger URI, Deployment name. */
export const services = outputs.services;
/** Per key-auth service: primary and secondary key (secret). */
export const serviceKeys = outputs.serviceKeys;
