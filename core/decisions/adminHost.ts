/**
 * Admin listeners (the router's admin port with the status page and /metrics, local mode's
 * control API) answer only requests addressed to this machine or pod by address or as
 * `localhost`. A web page from elsewhere cannot then reach them through DNS rebinding: its
 * requests carry the attacker's host name in `Host`, whatever address that name resolves to.
 */

/** Names every admin listener answers to, besides the pod's own addresses. */
const LOOPBACK = ["localhost", "127.0.0.1", "::1"];

/** `name`, `name:port`, `[v6]` or `[v6]:port`; anything else (user info, paths, several names) is not a Host. */
const HOST = /^(?:\[([0-9a-f:.]+)\]|([^:[\]@/\s]+))(?::\d{1,5})?$/i;

/**
 * Whether a request's `Host` header names this machine: a loopback name or one of
 * `ownAddresses` (the pod's IPs), with any port. A request without `Host` is refused too.
 */
export function hostAllowed(host: string | undefined, ownAddresses: readonly string[]): boolean {
  const m = HOST.exec(host ?? "");
  if (!m) return false;
  const name = (m[1] ?? m[2]).toLowerCase();
  return LOOPBACK.includes(name) || ownAddresses.some((a) => a.toLowerCase() === name);
}
