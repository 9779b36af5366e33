/**
 * GPU node pools (separate AgentPool resources) tainted so that only pods asking for GPUs land
 * there, and the NVIDIA device plugin that advertises `nvidia.com/gpu` on their nodes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as k8s from "@pulumi/kubernetes";
import { GPU_POOL_LABEL, GPU_TAINT, GPU_TAINT_STRING, LABELS, MANAGED_BY } from "../core/contracts/naming";
import { FORMER_TYPES, token, withFormerType } from "./legacy";

export interface GpuPoolArgs {
  resourceGroupName: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  /** AKS pool name (1-12 lowercase letters and digits). */
  poolName: string;
  /** N-series VM size. */
  vmSize: string;
  /** Node count (initial count when autoscaling). Default 1. */
  count: number;
  /** Node autoscaler bounds; both or neither. */
  minCount?: number;
  maxCount?: number;
  labels: Record<string, string>;
  /** CNI/kubenet node subnet (pools must share the cluster's subnet). */
  vnetSubnetId: pulumi.Input<string>;
  kubernetesVersion?: pulumi.Input<string | undefined>;
  tags: Record<string, string>;
}

export class GpuPool extends pulumi.ComponentResource {
  readonly pool: containerservice.AgentPool;

  constructor(name: string, args: GpuPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("GpuPool"), name, {}, withFormerType(FORMER_TYPES.GpuPool, opts));
    const autoscale = args.minCount !== undefined && args.maxCount !== undefined;
    this.pool = new containerservice.AgentPool(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        resourceName: args.clusterName,
        agentPoolName: args.poolName,
        mode: "User",
        type: "VirtualMachineScaleSets",
        osType: "Linux",
        vmSize: args.vmSize,
        count: args.count,
        enableAutoScaling: autoscale,
        minCount: autoscale ? args.minCount : undefined,
        maxCount: autoscale ? args.maxCount : undefined,
        orchestratorVersion: args.kubernetesVersion,
        vnetSubnetID: args.vnetSubnetId,
        nodeTaints: [GPU_TAINT_STRING],
        nodeLabels: { ...args.labels, [GPU_POOL_LABEL]: args.poolName },
        tags: args.tags,
      },
      { parent: this, ignoreChanges: autoscale ? ["count"] : [] },
    );
    this.registerOutputs({ poolName: this.pool.name });
  }
}

/**
 * NVIDIA device plugin image: NVIDIA's k8s-device-plugin as Microsoft mirrors it on MCR.
 * Microsoft's own references for v0.17 and later use the `oss/v2/nvidia/` path (not
 * `oss/nvidia/`); `v0.18.2` is the tag Microsoft's AKS node-image end-to-end test deploys as a
 * DaemonSet (Azure/AgentBaker, e2e "NvidiaDevicePlugin_Daemonset": "the upstream NVIDIA device plugin image
 * from MCR"). The AKS doc "Use GPUs for compute-intensive workloads on Azure Kubernetes Service
 * (AKS)" shows NVIDIA's own `nvcr.io/nvidia/k8s-device-plugin:v0.18.0` with the same DaemonSet
 * spec; MCR is used instead because it is already on the firewall's allow-list (nvcr.io and its
 * layer CDN are not).
 *
 * Pinned by tag, not digest: no digest of this MCR tag is published in the material available
 * when this was written (the only digests found were third parties' pulls of nvcr.io tags), and
 * a digest that was not read from the registry must not be written here. To pin it, run
 * `docker buildx imagetools inspect mcr.microsoft.com/oss/v2/nvidia/k8s-device-plugin:v0.18.2`
 * and append `@sha256:<digest>` (the test accepts either form).
 */
export const NVIDIA_DEVICE_PLUGIN_IMAGE = "mcr.microsoft.com/oss/v2/nvidia/k8s-device-plugin:v0.18.2";

export interface NvidiaDevicePluginArgs {
  provider: k8s.Provider;
  /** Deploy after these (e.g. the GPU pools). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** One DaemonSet for all GPU pools: it runs on every node that carries `GPU_POOL_LABEL`. */
export class NvidiaDevicePlugin extends pulumi.ComponentResource {
  readonly daemonSet: k8s.apps.v1.DaemonSet;

  constructor(name: string, args: NvidiaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("NvidiaDevicePlugin"), name, {}, withFormerType(FORMER_TYPES.NvidiaDevicePlugin, opts));
    const labels = { app: "nvidia-device-plugin", [LABELS.managedBy]: MANAGED_BY };
    this.daemonSet = new k8s.apps.v1.DaemonSet(
      name,
      {
        metadata: { name: "nvidia-device-plugin", namespace: "kube-system", labels },
        spec: {
          selector: { matchLabels: { app: "nvidia-device-plugin" } },
          updateStrategy: { type: "RollingUpdate" },
          template: {
            metadata: { labels },
            spec: {
              priorityClassName: "system-node-critical",
              tolerations: [{ key: GPU_TAINT.key, operator: "Exists", effect: GPU_TAINT.effect }],
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: GPU_POOL_LABEL, operator: "Exists" }] }],
                  },
                },
              },
              containers: [
                {
                  name: "nvidia-device-plugin",
                  image: NVIDIA_DEVICE_PLUGIN_IMAGE,
                  env: [{ name: "FAIL_ON_INIT_ERROR", value: "false" }],
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                  volumeMounts: [{ name: "device-plugin", mountPath: "/var/lib/kubelet/device-plugins" }],
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                },
              ],
              volumes: [{ name: "device-plugin", hostPath: { path: "/var/lib/kubelet/device-plugins" } }],
            },
          },
        },
      },
      { parent: this, provider: args.provider, dependsOn: args.dependsOn },
    );
    this.registerOutputs({});
  }
}
