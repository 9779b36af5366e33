/**
 * Proof that a GPU pool works before model services land on it: a Job on the pool (tolerating
 * its taint, selecting it by label, asking for one `nvidia.com/gpu`) that runs `nvidia-smi -L`
 * and must list a GPU. `pulumi up` waits for it to complete, so a broken device plugin or driver
 * fails the deployment with the Job's output instead of leaving model pods Pending.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { verificationTimeoutSeconds } from "../../core/decisions/gpu";
import { GPU_POOL_LABEL, GPU_RESOURCE, GPU_TAINT, LABELS, MANAGED_BY } from "../../core/contracts/naming";
import { NVIDIA_DEVICE_PLUGIN_IMAGE } from "../gpuPool";
import { CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT } from "./podSecurity";
import { FORMER_TYPES, token, withFormerType } from "../legacy";

/**
 * NVIDIA's CUDA base image (no CUDA libraries, just the runtime hooks: `NVIDIA_DRIVER_CAPABILITIES`
 * includes `utility`, so the NVIDIA container runtime mounts the node's `nvidia-smi` and driver
 * into the container) as Microsoft mirrors nvcr.io on MCR (`mcr.microsoft.com/mirror/nvcr/...`):
 * MCR is already on the firewall's allow-list, nvcr.io is not. The tag is one that public
 * Dockerfiles pull from that mirror (e.g. a "minimal CUDA base" runtime stage); it was not pulled
 * here, and no digest was read from the registry, so it is pinned by tag. NVIDIA's own docs use
 * `nvidia/cuda:<version>-base-ubuntu22.04` for the same `nvidia-smi` check.
 */
export const GPU_CHECK_IMAGE = "mcr.microsoft.com/mirror/nvcr/nvidia/cuda:12.0.1-base-ubuntu22.04";

/** Lists the GPUs, and fails when there is none (`nvidia-smi -L` can exit 0 with "No devices found"). */
export const GPU_CHECK_SCRIPT = 'out="$(nvidia-smi -L)" || exit $?; echo "$out"; echo "$out" | grep -q "^GPU " || { echo "no GPU listed by nvidia-smi -L" >&2; exit 1; }';

export interface GpuPoolVerificationArgs {
  provider: k8s.Provider;
  namespace: pulumi.Input<string>;
  poolName: string;
  vmSize: string;
  count: number;
  minCount?: number;
  /** The device plugin (and anything else the check needs first). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class GpuPoolVerification extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: GpuPoolVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(token("GpuPoolVerification"), name, {}, withFormerType(FORMER_TYPES.GpuPoolVerification, opts));
    const timeoutSeconds = verificationTimeoutSeconds(args);
    // A completed Job is not run again; its name changes with what it verifies (VM size, device
    // plugin, check image), so a change replaces it and the pool is proven again.
    const fingerprint = createHash("sha256").update([args.vmSize, NVIDIA_DEVICE_PLUGIN_IMAGE, GPU_CHECK_IMAGE, GPU_CHECK_SCRIPT].join("\0")).digest("hex").slice(0, 8);
    const labels = { app: "gpu-pool-verification", [GPU_POOL_LABEL]: args.poolName, [LABELS.managedBy]: MANAGED_BY };
    this.job = new k8s.batch.v1.Job(
      name,
      {
        metadata: {
          name: `gpu-verify-${args.poolName}-${fingerprint}`,
          namespace: args.namespace,
          labels,
          annotations: {
            // Wait for completion (the provider's default for Jobs, stated so nobody turns it off)
            // and fail the update once the bound is reached.
            "pulumi.com/skipAwait": "false",
            "pulumi.com/timeoutSeconds": String(timeoutSeconds),
          },
        },
        spec: {
          backoffLimit: 1,
          activeDeadlineSeconds: timeoutSeconds,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              securityContext: POD_SECURITY_CONTEXT,
              tolerations: [{ key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect }],
              nodeSelector: { [GPU_POOL_LABEL]: args.poolName },
              containers: [
                {
                  name: "nvidia-smi",
                  image: GPU_CHECK_IMAGE,
                  command: ["sh", "-c", GPU_CHECK_SCRIPT],
                  // The output becomes the pod's termination message on failure: Pulumi and
                  // `kubectl describe` show why without fetching logs.
                  terminationMessagePolicy: "FallbackToLogsOnError",
                  securityContext: CONTAINER_SECURITY_CONTEXT,
                  resources: {
                    requests: { cpu: "10m", memory: "32Mi", [GPU_RESOURCE]: "1" },
                    limits: { memory: "64Mi", [GPU_RESOURCE]: "1" },
                  },
                },
              ],
            },
          },
        },
      },
      { parent: this, provider: args.provider, dependsOn: args.dependsOn, customTimeouts: { create: `${timeoutSeconds}s`, update: `${timeoutSeconds}s` } },
    );
    this.registerOutputs({ jobName: this.job.metadata.name });
  }
}
