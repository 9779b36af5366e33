/**
 * The status page's table as terminal text (`aks-inference status`): the same rows and numbers
 * as the page (router/statusAssets.ts), from the same /status.json, with the autoscaler's last
 * decisions under it. Pure: the CLI fetches, this formats.
 */
import type { StatusJson } from "./status";

const fixed = (v: number | undefined, digits: number, unit = "") => (v === undefined ? "–" : `${v.toFixed(digits)}${unit}`);
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** Columns padded to their widest cell; the first two (names, states) left-aligned, numbers right. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd()).join("\n");
}

export function renderStatus(status: StatusJson): string {
  const header = ["SERVICE", "STATE", "REPLICAS", "RESTARTS", "UTIL/TARGET", "REQ/S", "P50", "P99", "4XX", "5XX", "QUEUE", "503S"];
  const rows = status.services.map((s) => [
    s.name,
    s.state,
    `${s.ready}/${s.desired} (${s.minReplicas}-${s.maxReplicas})`,
    s.restarts === undefined ? "–" : String(s.restarts),
    `${s.utilization.toFixed(0)}/${s.targetUtilization.toFixed(0)} %`,
    s.rps.toFixed(1),
    fixed(s.p50Ms, 1, " ms"),
    fixed(s.p99Ms, 1, " ms"),
    pct(s.errorRate["4xx"]),
    pct(s.errorRate["5xx"]),
    String(s.queued),
    String(s.unavailable),
  ]);
  const who = `router pod ${status.router.pod}${status.router.leader ? " (autoscaling leader)" : ` (follower: ${status.router.leaderPod ?? "another pod"} decides scaling)`}`;
  const lines = [who, "", table([header, ...rows])];
  // Why a service keeps crashing, under the table (too long for a column).
  for (const s of status.services) if (s.crashLoop) lines.push(`  ${s.name}: ${s.crashLoop}`);
  lines.push("", "Rates, latencies and errors over the last 10 s.");
  if (status.decisions.length) {
    lines.push("", "Autoscaling decisions (newest first):");
    for (const d of status.decisions) lines.push(`  ${new Date(d.at).toISOString().slice(11, 19)}Z scaled ${d.service} ${d.from} → ${d.to}: ${d.reason}`);
  }
  return lines.join("\n");
}
