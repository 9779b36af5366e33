/**
 * The admin port: metrics, the status page, the load peers report to the leader, and probes. It
 * is a separate listener so that none of this is reachable from the public (scoring) port.
 */
import * as http from "node:http";
import type { Autoscaler } from "./autoscaler";
import type { RouterMetrics } from "./metrics";
import { splitTarget } from "./request";
import { sendError, sendJson } from "./respond";
import { serveStatus, type StatusSampler } from "./status";

export interface AdminOptions {
  metrics: RouterMetrics;
  status: StatusSampler;
  autoscaler: Autoscaler;
  isReady: () => boolean;
}

export function createAdminServer(o: AdminOptions): http.Server {
  const { metrics } = o;
  return http.createServer((req, res) => {
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
