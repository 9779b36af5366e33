/**
 * A failed Kubernetes API call, said in a user's terms. @kubernetes/client-node reports an
 * unreachable API server, a refused credential, a missing permission and a missing object as
 * four different errors; the CLI used to print the same guess for all of them ("has no key
 * Secret"), which sent users after the wrong fix. This module tells them apart. It has no runtime
 * import of the client (errors are recognised by shape), so it stays cheap and testable alone.
 */
import { CliError } from "./backends";

/** One API request in RBAC terms: what a Role must allow for it. */
export interface ApiOperation {
  verb: "get" | "list" | "patch";
  /** As a Role names it: `services`, `deployments`, `pods/log`, `secrets`... */
  resource: string;
}

/** Where the requests went, for the messages. */
export interface ClusterContext {
  server: string;
  namespace: string;
  /** The kubeconfig user's credential plugin (kubelogin on AKS), when it has one. */
  execCommand?: string;
}

const AKS_RBAC_READER = "Azure Kubernetes Service RBAC Reader";
const AKS_RBAC_WRITER = "Azure Kubernetes Service RBAC Writer";

/**
 * The built-in AKS role that allows an operation: Reader reads everything in a namespace except
 * Secrets; Writer also reads Secrets and changes objects.
 */
function roleFor(op: ApiOperation): string {
  return op.verb === "patch" || op.resource === "secrets" ? AKS_RBAC_WRITER : AKS_RBAC_READER;
}

/** An HTTP answer other than 2xx: the client's ApiException, or the CLI's own streaming log request. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string | undefined,
  ) {
    super(`the API server answered ${code}`);
  }
}

/** The status code and the API server's own message of an HTTP error, if `err` is one. */
export function apiStatus(err: unknown): { code: number; message?: string } | undefined {
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e?.code !== "number" || e.code < 300 || e.code > 599) return undefined;
  let message: string | undefined;
  if (typeof e.body === "string") {
    try {
      const status = JSON.parse(e.body) as { message?: unknown };
      message = typeof status.message === "string" ? status.message : undefined;
    } catch {
      message = e.body.trim() || undefined;
    }
  }
  return { code: e.code, message };
}

const TIMEOUT = "timeout";

/** Why a connection could not be made, by the error's code. */
const NETWORK_HINTS: Record<string, string> = {
  ENOTFOUND: "its name does not resolve; a private cluster's API server resolves only inside its network (VNet, VPN, or a machine that uses its private DNS zone)",
  EAI_AGAIN: "DNS did not answer",
  ECONNREFUSED: "nothing accepts connections there",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "no route to it",
  ENETUNREACH: "no route to it",
  ETIMEDOUT: "the connection timed out: a firewall, the cluster's authorized IP ranges or a private endpoint may keep this machine out",
};

/** TLS failures: the kubeconfig's certificate authority does not match the server. */
const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID)/;

/** The code of a failure to connect (or `timeout`), if `err` is one. */
function networkCode(err: unknown): string | undefined {
  const e = err as { name?: unknown; code?: unknown; syscall?: unknown; type?: unknown };
  if (e?.name === "AbortError") return TIMEOUT;
  if (typeof e?.code !== "string") return undefined;
  // node-fetch (the client's HTTP library) wraps socket errors as FetchError of type "system";
  // the CLI's own requests get Node's socket errors, which name their system call.
  if (e.name === "FetchError" || ["connect", "getaddrinfo", "read", "write"].includes(String(e.syscall)) || e.code in NETWORK_HINTS || TLS_CODES.test(e.code)) return e.code;
  return undefined;
}

/** The name the API server gave the caller (`User "alice@contoso.com" cannot ...`), if it says. */
function userOf(message: string | undefined): string | undefined {
  return /User "([^"]+)"/.exec(message ?? "")?.[1];
}

/** "cannot reach the API server at <url> (<code>): <why>". */
function unreachable(ctx: ClusterContext, code: string, timeoutSeconds: number): CliError {
  if (code === TIMEOUT) return new CliError(`cannot reach the API server at ${ctx.server} (no answer within ${timeoutSeconds} s): a firewall, the cluster's authorized IP ranges or a private endpoint may keep this machine out; --request-timeout waits longer`);
  const why = TLS_CODES.test(code) ? "its TLS certificate is not the one the kubeconfig's certificate-authority-data trusts" : NETWORK_HINTS[code];
  return new CliError(`cannot reach the API server at ${ctx.server} (${code})${why ? `: ${why}` : ""}`);
}

/**
 * The error to show for a failed API call. `timeoutSeconds` is the request timeout the call ran
 * with (a request aborted by it is reported as unreachable).
 */
export function clusterError(err: unknown, op: ApiOperation, ctx: ClusterContext, timeoutSeconds: number): CliError {
  if (err instanceof CliError) return err;
  const net = networkCode(err);
  if (net) return unreachable(ctx, net, timeoutSeconds);
  const status = apiStatus(err);
  if (!status) return new CliError(`error: ${(err as Error).message}`);
  if (status.code === 401) {
    const how = ctx.execCommand ? `its token comes from \`${ctx.execCommand}\`: sign in again (\`az login\`, and \`kubelogin remove-tokens\` if it cached an expired one)` : "the kubeconfig's credentials have expired or are wrong: get a fresh kubeconfig";
    return new CliError(`the API server at ${ctx.server} refused the credentials (401 Unauthorized); ${how}`);
  }
  if (status.code === 403) {
    const user = userOf(status.message);
    return new CliError(`forbidden: ${op.verb} ${op.resource} in namespace '${ctx.namespace}'${user ? ` (as ${user})` : ""}; needs the '${roleFor(op)}' role (or a Role that allows it)`);
  }
  return new CliError(`the API server answered ${status.code} to ${op.verb} ${op.resource} in namespace '${ctx.namespace}'${status.message ? `: ${status.message}` : ""}`);
}

/**
 * A failure to get credentials before any request: the kubeconfig's credential plugin (kubelogin
 * on AKS) missing or failing, or a kubeconfig the client cannot use.
 */
export function credentialError(err: unknown, ctx: ClusterContext): CliError {
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown };
  const message = String(e?.message ?? err).trim();
  if (!ctx.execCommand) return new CliError(`cannot use the kubeconfig's cluster or user: ${message}`);
  if (e?.code === "ENOENT" && String(e.syscall).startsWith("spawn")) {
    return new CliError(`the kubeconfig gets its credentials from \`${ctx.execCommand}\`, which is not installed (${message}); install kubelogin (\`az aks install-cli\`) and sign in with \`az login\``);
  }
  return new CliError(`the kubeconfig's credential plugin \`${ctx.execCommand}\` failed: ${message || "no message"}; sign in again (\`az login\`)`);
}
