// The metrics page: a few live charts from the member's own /metrics,
// sampled every second while the page is open, drawn on canvases.

import { metrics } from "./api.js";
import { bytesText, every, h, replace } from "./dom.js";

const points = 60; // a minute

const charts = [
  { id: "requests", title: "Requests/s (gRPC)", unit: (v) => v.toFixed(1) },
  { id: "fsync", title: "WAL fsync p99 (ms)", unit: (v) => v.toFixed(2) + " ms" },
  { id: "db", title: "DB size", unit: bytesText },
  { id: "watchers", title: "Watchers", unit: (v) => (v < 10 ? v.toFixed(1) : v.toFixed(0)) },
];

export async function render(main, params, signal) {
  const series = Object.fromEntries(charts.map((c) => [c.id, []]));
  const canvases = Object.fromEntries(charts.map((c) => [c.id, h("canvas", { id: "chart-" + c.id, width: "560", height: "160" })]));
  const values = Object.fromEntries(charts.map((c) => [c.id, h("span", { class: "muted", "data-testid": "value-" + c.id })]));
  replace(main, h("h1", {}, "Metrics"),
    h("p", { class: "muted" }, "From this member's /metrics, every second."),
    h("div", { class: "charts" }, charts.map((c) => h("div", { class: "panel" }, h("h2", {}, c.title, " ", values[c.id]), canvases[c.id]))));
  let prev = null;
  await every(1000, signal, async () => {
    const mx = await metrics();
    const now = Date.now();
    const cur = {
      t: now,
      handled: mx.sum("grpc_server_handled_total"),
      fsync: mx.samples("etcd_disk_wal_fsync_duration_seconds_bucket"),
    };
    if (prev) {
      const dt = (cur.t - prev.t) / 1000;
      push(series.requests, (cur.handled - prev.handled) / dt);
      push(series.fsync, p99(prev.fsync, cur.fsync) * 1000);
    }
    push(series.db, mx.sum("etcd_mvcc_db_total_size_in_bytes"));
    push(series.watchers, mx.sum("etcd_debugging_mvcc_watcher_total"));
    prev = cur;
    for (const c of charts) {
      const s = series[c.id];
      values[c.id].textContent = s.length ? "now " + c.unit(s[s.length - 1]) : "";
      draw(canvases[c.id], s, c.unit);
    }
  });
}

function push(s, v) {
  s.push(Number.isFinite(v) ? v : 0);
  if (s.length > points) s.shift();
}

// p99 estimates the 99th percentile of the observations between two
// scrapes of a histogram's buckets (the upper bound of the bucket that
// holds it); 0 when none happened.
function p99(before, after) {
  const count = (samples) => new Map(samples.map((s) => [s.labels.le, s.value]));
  const a = count(before);
  const buckets = after.map((s) => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), n: s.value - (a.get(s.labels.le) || 0) }))
    .sort((x, y) => x.le - y.le);
  const total = buckets.length ? buckets[buckets.length - 1].n : 0;
  if (total <= 0) return 0;
  for (const b of buckets) if (b.n >= 0.99 * total) return Number.isFinite(b.le) ? b.le : buckets[buckets.length - 2]?.le || 0;
  return 0;
}

function draw(canvas, s, unit) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, hgt = canvas.height, left = 70, pad = 10;
  ctx.clearRect(0, 0, w, hgt);
  const max = Math.max(...s, 0) * 1.1 || 1;
  ctx.strokeStyle = "#e3e6eb";
  ctx.fillStyle = "#667085";
  ctx.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = pad + ((hgt - 2 * pad) * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w - pad, y); ctx.stroke();
    ctx.fillText(unit(max * (1 - i / 4)), 4, y + 4);
  }
  if (s.length < 2) return;
  ctx.strokeStyle = "#2156d9";
  ctx.lineWidth = 2;
  ctx.beginPath();
  const first = points - s.length; // the newest sample at the right edge
  s.forEach((v, i) => {
    const x = left + ((w - pad - left) * (first + i)) / (points - 1);
    const y = hgt - pad - ((hgt - 2 * pad) * v) / max;
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}
