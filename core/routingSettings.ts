/**
 * What the router needs to know about one model service. The stack renders it as JSON into the
 * `aks-inference/settings` annotation of the service's Kubernetes Service; local mode hands it
 * to the local discovery directly. Both build it with `routingSettings`, from the same config.
 */
import type { AuthMode, ModelServiceConfig } from "./config";
import { MAX_PAYLOAD_BYTES, servicePayloadLimitBytes } from "./payloadLimit";

export interface AutoscaleSettings {
  enabled: boolean;
  minReplicas: number;
  maxReplicas: number;
  /** Percent, 1-100: target share of busy replicas. */
  targetUtilization: number;
}

export interface ServiceRoutingSettings {
  name: string;
  authMode: AuthMode;
  /** `aud` required on tokens (token auth); default the service name. */
  tokenAudience: string;
  autoscale: AutoscaleSettings;
  /** Concurrent requests one replica is given before requests queue in the router. */
  maxConcurrentRequestsPerReplica: number;
  /** Longest time a request waits in the router's queue before 503 + Retry-After. */
  maxQueueWaitMs: number;
  /** Time a replica has to answer before the router answers 504. */
  scoringTimeoutMs: number;
  /** Largest body this service's replicas can hold in memory (core/payloadLimit.ts); absent: the router's limit. */
  maxBodyBytes?: number;
}

export function routingSettings(svc: ModelServiceConfig, tokenAudience?: string, routerLimitBytes = MAX_PAYLOAD_BYTES): ServiceRoutingSettings {
  return {
    name: svc.name,
    authMode: svc.authMode,
    tokenAudience: tokenAudience ?? svc.name,
    autoscale: {
      enabled: svc.autoscaleEnabled,
      minReplicas: svc.autoscaleEnabled ? svc.autoscaleMinReplicas : svc.initialReplicas,
      maxReplicas: svc.autoscaleEnabled ? svc.autoscaleMaxReplicas : svc.initialReplicas,
      targetUtilization: svc.autoscaleTargetUtilization,
    },
    maxConcurrentRequestsPerReplica: svc.replicaMaxConcurrentRequests,
    maxQueueWaitMs: svc.maxRequestWaitTimeMs,
    scoringTimeoutMs: svc.scoringTimeoutMs,
    maxBodyBytes: servicePayloadLimitBytes(svc.memoryGb, routerLimitBytes),
  };
}
