/**
 * The status page's HTML, stylesheet and script, served by the router itself (router/status.ts):
 * no CDN, no web font, nothing fetched from elsewhere, so the page works where the cluster has no
 * way out. The script polls /status.json once a second and renders with textContent only (a
 * service name is never parsed as HTML).
 */

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aks-inference router</title>
<link rel="stylesheet" href="/status.css">
</head>
<body>
<header>
  <h1>aks-inference router</h1>
  <span id="router"></span>
  <span id="updated"></span>
</header>
<table id="services">
  <thead>
    <tr>
      <th>service</th><th>state</th><th>replicas<br><small>ready/desired (min–max)</small></th><th>restarts</th>
      <th>utilization<br><small>/ target</small></th><th>req/s</th><th>p50</th><th>p99</th>
      <th>errors<br><small>4xx / 5xx</small></th><th>queue</th><th>503s<br><small>10 s</small></th>
      <th>req/s<br><small>15 min</small></th><th>p99<br><small>15 min</small></th><th>replicas<br><small>15 min</small></th>
    </tr>
  </thead>
  <tbody></tbody>
</table>
<h2>Autoscaling decisions <small>(this pod's, newest first; only the leader decides)</small></h2>
<ul id="decisions"><li class="none">none yet</li></ul>
<p class="note">Rates, latencies and errors over the last 10 seconds; charts over the last 15 minutes, one point a second. Refreshed every second.</p>
<script src="/status.js"></script>
</body>
</html>
`;

export const STATUS_CSS = `:root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --line: #8884; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
header { display: flex; gap: 1.5rem; align-items: baseline; }
h1 { font-size: 1.2rem; margin: 0 0 1rem; }
#updated, .note { color: #888; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td[data-field=state] { text-align: left; }
th small { font-weight: normal; color: #888; }
td[data-field=state][data-state=Healthy] { color: var(--ok); }
td[data-field=state][data-state=Scaling] { color: var(--warn); }
td[data-field=state][data-state=Degraded], td[data-field=state][data-state=Down], td[data-field=state][data-state=CrashLoopBackOff] { color: var(--bad); font-weight: bold; }
td[data-field=state] .why { display: block; max-width: 28rem; white-space: normal; font-weight: normal; font-size: 12px; }
h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
h2 small { font-weight: normal; color: #888; }
#decisions { margin: 0; padding-left: 1.2rem; font-variant-numeric: tabular-nums; }
#decisions .none { color: #888; list-style: none; margin-left: -1.2rem; }
svg.spark { width: 120px; height: 24px; vertical-align: middle; }
svg.spark polyline { fill: none; stroke: currentColor; stroke-width: 1.2; }
`;

export const STATUS_JS = `"use strict";
const SVG = "http://www.w3.org/2000/svg";
const fmt = (v, digits) => (v === undefined || v === null ? "–" : Number(v).toFixed(digits));
const pct = (v) => (v * 100).toFixed(1) + " %";

function spark(values) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 120 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const nums = values.map((v) => (v === null ? 0 : v));
  const max = Math.max(1e-9, ...nums);
  const step = nums.length > 1 ? 120 / (nums.length - 1) : 0;
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", nums.map((v, i) => (i * step).toFixed(1) + "," + (23 - (v / max) * 22).toFixed(1)).join(" "));
  svg.appendChild(line);
  const title = document.createElementNS(SVG, "title");
  title.textContent = "max " + max.toFixed(1);
  svg.appendChild(title);
  return svg;
}

function cell(row, field, text, attrs) {
  const td = document.createElement("td");
  td.dataset.field = field;
  if (text instanceof Node) td.appendChild(text);
  else td.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) td.dataset[k] = v;
  row.appendChild(td);
}

// The state, and under it why a replica keeps crashing (restarts, last exit).
function stateOf(s) {
  const out = document.createDocumentFragment();
  out.append(s.state);
  if (s.crashLoop) {
    const why = document.createElement("small");
    why.className = "why";
    why.textContent = s.crashLoop;
    out.appendChild(why);
  }
  return out;
}

function render(status) {
  document.getElementById("router").textContent =
    "pod " + status.router.pod +
    (status.router.leader ? " · autoscaling leader" : " · follower (" + (status.router.leaderPod || "another pod") + " decides scaling)");
  document.getElementById("updated").textContent = "updated " + new Date(status.at).toLocaleTimeString();
  const body = document.querySelector("#services tbody");
  const rows = status.services.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.service = s.name;
    cell(tr, "name", s.name);
    cell(tr, "state", stateOf(s), { state: s.state });
    cell(tr, "replicas", s.ready + "/" + s.desired + " (" + s.minReplicas + "–" + s.maxReplicas + ")", { ready: String(s.ready), desired: String(s.desired) });
    cell(tr, "restarts", s.restarts === undefined ? "–" : String(s.restarts));
    cell(tr, "utilization", fmt(s.utilization, 0) + " % / " + fmt(s.targetUtilization, 0) + " %");
    cell(tr, "rps", fmt(s.rps, 1), { value: String(s.rps) });
    cell(tr, "p50", s.p50Ms === undefined ? "–" : fmt(s.p50Ms, 1) + " ms");
    cell(tr, "p99", s.p99Ms === undefined ? "–" : fmt(s.p99Ms, 1) + " ms");
    cell(tr, "errors", pct(s.errorRate["4xx"]) + " / " + pct(s.errorRate["5xx"]));
    cell(tr, "queue", String(s.queued));
    cell(tr, "unavailable", String(s.unavailable));
    cell(tr, "rps-chart", spark(s.series.rps));
    cell(tr, "p99-chart", spark(s.series.p99Ms));
    cell(tr, "replicas-chart", spark(s.series.replicas));
    return tr;
  });
  body.replaceChildren(...rows);
  const list = document.getElementById("decisions");
  const items = status.decisions.map((d) => {
    const li = document.createElement("li");
    li.dataset.service = d.service;
    li.textContent = new Date(d.at).toLocaleTimeString() + " scaled " + d.service + " " + d.from + " \u2192 " + d.to + ": " + d.reason;
    return li;
  });
  if (items.length) list.replaceChildren(...items);
}

async function poll() {
  try {
    const res = await fetch("/status.json", { cache: "no-store" });
    if (res.ok) render(await res.json());
  } catch (err) {
    document.getElementById("updated").textContent = "router unreachable: " + err.message;
  }
  setTimeout(poll, 1000);
}
poll();
`;
