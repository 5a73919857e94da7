// The plugins page: each catalog entry with its checksum, state, restarts,
// last error and call latency (mean and p99), and the per-prefix quota
// usage against the limits while the prefix-quota policy runs.

import { get, metrics } from "./api.js";
import { badge, bytesText, every, h, replace, table } from "./dom.js";

export async function render(main, params, signal) {
  const catalog = h("div", { class: "panel", id: "plugins" });
  const quota = h("div", { class: "panel", id: "quota" });
  replace(main, h("h1", {}, "Plugins"), catalog, quota);
  await every(2000, signal, async () => {
    const [resp, mx] = await Promise.all([get("plugins"), metrics()]);
    if (signal.aborted) return;
    renderCatalog(catalog, resp.plugins || []);
    renderQuota(quota, mx);
  });
}

function renderCatalog(box, plugins) {
  if (plugins.length === 0) {
    replace(box, h("h2", {}, "Catalog"), h("p", { class: "muted", id: "no-plugins" }, "The catalog is empty: the member runs its built-in storage engine, auth provider and quota policy."));
    return;
  }
  replace(box, h("h2", {}, "Catalog"), table(
    ["Kind", "Name", "Path", "sha256", "State", "Restarts", "Last error", "Calls", "Mean call", "p99 call"],
    plugins.map((p) => h("tr", { "data-plugin": p.kind + "/" + p.name },
      h("td", {}, p.kind),
      h("td", {}, p.name),
      h("td", { class: "mono" }, p.path),
      h("td", {}, p.sha256Match ? badge("matches", "ok") : badge(p.sha256Error ? "unreadable" : "differs", "bad"),
        h("div", { class: "mono muted", title: p.sha256 }, (p.sha256 || "").slice(0, 12) + "…")),
      h("td", { "data-testid": "state" }, !p.started ? badge("not started") : p.up ? badge("running", "ok") : badge("down", "bad")),
      h("td", { class: "num", "data-testid": "restarts" }, String(p.restarts)),
      h("td", {}, p.lastError ? [h("div", {}, p.lastError), h("div", { class: "muted" }, new Date(p.lastErrorAt).toLocaleString())] : h("span", { class: "muted" }, "none")),
      h("td", { class: "num" }, String(p.calls)),
      h("td", { class: "num", "data-testid": "mean" }, p.calls ? p.meanCallMs.toFixed(3) + " ms" : ""),
      h("td", { class: "num", "data-testid": "p99", title: "since the member started, from its call duration histogram" }, p.calls ? p.p99CallMs.toFixed(3) + " ms" : "")))));
}

function renderQuota(box, mx) {
  const prefixes = new Map();
  const take = (name, field) => {
    for (const s of mx.samples(name)) {
      const p = s.labels.prefix;
      if (!prefixes.has(p)) prefixes.set(p, {});
      prefixes.get(p)[field] = s.value;
    }
  };
  take("metastore_quota_prefix_keys", "keys");
  take("metastore_quota_prefix_bytes", "bytes");
  take("metastore_quota_prefix_max_keys", "maxKeys");
  take("metastore_quota_prefix_max_bytes", "maxBytes");
  const fallback = mx.samples("metastore_quota_fallback");
  if (prefixes.size === 0 && fallback.length === 0) {
    replace(box, h("h2", {}, "Quota"), h("p", { class: "muted" }, "No quota plugin runs: the built-in backend quota alone applies."));
    return;
  }
  const use = (v, max, fmt) => max ? [h("span", { class: "bar" }, h("span", { style: "width: " + Math.min(100, (100 * v) / max).toFixed(0) + "%" })), " ", fmt(v) + " of " + fmt(max)] : fmt(v || 0);
  replace(box, h("h2", {}, "Quota"),
    fallback.map((f) => h("p", {}, "Policy ", h("code", {}, f.labels.name), ": ", f.value ? badge("down: built-in check only", "bad") : badge("deciding", "ok"))),
    table(["Prefix", "Keys", "Bytes"], [...prefixes.entries()].sort().map(([p, u]) => h("tr", { "data-prefix": p },
      h("td", { class: "mono" }, p),
      h("td", {}, use(u.keys, u.maxKeys, String)),
      h("td", {}, use(u.bytes, u.maxBytes, bytesText))))));
}
