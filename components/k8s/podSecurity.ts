/**
 * The hardening every pod of this stack runs with (router and model services alike): a
 * non-root numeric user the kubelet can verify, the runtime's seccomp profile, no privilege
 * escalation, a read-only root file system (writable paths are emptyDir volumes), no capabilities.
 */
import type * as k8s from "@pulumi/kubernetes";

/** Pod-level security context. */
export const POD_SECURITY_CONTEXT: k8s.types.input.core.v1.PodSecurityContext = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };

/** Container-level security context. */
export const CONTAINER_SECURITY_CONTEXT: k8s.types.input.core.v1.SecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
