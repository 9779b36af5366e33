/**
 * A model service's deployment configuration (`cpuCores`, `memoryGb`, `gpuCores`) as container
 * requests and limits. Requests equal limits (Guaranteed QoS, as AML v1's defaults): a replica
 * gets exactly what it was sized for and is the last to be evicted.
 */
import type { ModelServiceConfig } from "../config";
import { GPU_RESOURCE } from "../contracts/naming";

export interface ContainerResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export function containerResources(svc: Pick<ModelServiceConfig, "cpuCores" | "memoryGb" | "gpuCores">): ContainerResources {
  const cpu = `${Math.round(svc.cpuCores * 1000)}m`;
  const memory = `${Math.round(svc.memoryGb * 1024)}Mi`;
  const gpu: Record<string, string> = svc.gpuCores > 0 ? { [GPU_RESOURCE]: String(svc.gpuCores) } : {};
  return { requests: { cpu, memory, ...gpu }, limits: { cpu, memory, ...gpu } };
}
