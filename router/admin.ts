/**
 * The admin port: metrics, the status page, the load peers report to the leader, and probes. It
 * is a separate listener so that none of this is reachable from the public (scoring) port, and
 * it answers only requests addressed to it by loopback name or the pod's own address (the kubelet's
 * probes, Prometheus and peer routers use the pod IP; `kubectl port-forward` 127.0.0.1), so that
 * no web page can read it through DNS rebinding.
 */
import * as http from "node:http";
import * as os from "node:os";
import { hostAllowed } from "../core/decisions/adminHost";
import type { Autoscaler } from "./autoscaler";
import type { RouterMetrics } from "./metrics";
import { splitTarget } from "./request";
import { sendError, sendJson } from "./respond";
import { serveStatus, type StatusSampler } from "./status";

export interface AdminOptions {
  metrics: RouterMetrics;
  status: StatusSampler;
  autoscaler: Pick<Autoscaler, "localLoad">;
  isReady: () => boolean;
}

/** This machine's (the pod's) own addresses. */
export function ownAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

export function createAdminServer(o: AdminOptions): http.Server {
  const { metrics } = o;
  let addresses = ownAddresses();
  return http.createServer((req, res) => {
    // Read again on a miss: an address the machine took since (a laptop's new network).
    if (!hostAllowed(req.headers.host, addresses) && !hostAllowed(req.headers.host, (addresses = ownAddresses()))) {
      return sendError(res, 421, "MisdirectedRequest", "the admin port answers only to localhost, 127.0.0.1, [::1] or this pod's own IP address in Host");
    }
    const { path } = splitTarget(req.url);
    // The status page (`/`, its assets, /status.json), like /metrics, exists only here.
    if (req.method === "GET" && serveStatus(path, res, o.status)) return;
    switch (path) {
      case "/metrics":
        metrics.registry
          .metrics()
          .then((text) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(text);
          })
          .catch(() => sendError(res, 500, "InternalError", "metrics unavailable"));
        return;
      case "/internal/load": {
        const body = JSON.stringify(o.autoscaler.localLoad());
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
        return;
      }
      case "/healthz":
        return sendJson(res, 200, { status: "alive" });
      case "/readyz":
        return o.isReady() ? sendJson(res, 200, { status: "ready" }) : sendError(res, 503, "NotReady", "router is not ready");
      default:
        return sendError(res, 404, "NotFound", `no admin route ${path}`);
    }
  });
}
