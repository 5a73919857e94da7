// The leases page: each lease's TTL counting down, its keys, and revoke;
// a form grants a new one.

import { dec, leaseHex, v3 } from "./api.js";
import { confirmInline, errorBox, every, h, navigate, replace, toast } from "./dom.js";

const maxLeases = 200; // leases whose TTL and keys the page asks for
const maxKeysShown = 20;

export async function render(main, params, signal) {
  const list = h("div", { class: "panel", id: "leases" });
  const ttl = h("input", { id: "grant-ttl", type: "number", min: "1", value: "60", style: "width: 90px" });
  const msg = h("div");
  replace(main, h("h1", {}, "Leases"),
    h("form", {
      class: "inline", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await v3("lease/grant", { TTL: String(ttl.value) });
          toast("Granted lease " + leaseHex(r.ID));
          refresh();
        } catch (err) { replace(msg, errorBox(err)); }
      },
    }, "Grant a lease of ", ttl, " seconds ", h("button", { type: "submit" }, "Grant")),
    msg, list);
  let deadlines = new Map(); // lease ID → ms timestamp of expiry
  const refresh = async () => {
    const resp = await v3("lease/leases", {});
    const ids = (resp.leases || []).map((l) => l.ID).slice(0, maxLeases);
    const infos = await Promise.all(ids.map((id) => v3("lease/timetolive", { ID: id, keys: true }).catch((err) => ({ ID: id, failed: err.message }))));
    if (signal.aborted) return;
    deadlines = new Map(infos.filter((i) => !i.failed && Number(i.TTL) >= 0).map((i) => [i.ID, Date.now() + Number(i.TTL) * 1000]));
    replace(list, infos.length === 0 ? h("p", { class: "muted", id: "no-leases" }, "No leases.") : h("table", { id: "leases-table" },
      h("thead", {}, h("tr", {}, ["ID", "TTL left", "Granted TTL", "Keys", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, infos.map((i) => leaseRow(i, refresh)))),
    (resp.leases || []).length > maxLeases ? h("p", { class: "muted" }, "Showing the first " + maxLeases + " leases.") : null);
    tick();
  };
  const tick = () => {
    for (const cell of list.querySelectorAll("[data-ttl]")) {
      const d = deadlines.get(cell.dataset.ttl);
      if (d !== undefined) cell.textContent = Math.max(0, Math.ceil((d - Date.now()) / 1000)) + " s";
    }
  };
  const timer = setInterval(tick, 1000);
  signal.addEventListener("abort", () => clearInterval(timer));
  await every(5000, signal, refresh);
}

function leaseRow(info, refresh) {
  const id = leaseHex(info.ID);
  if (info.failed) return h("tr", { "data-lease": id }, h("td", { class: "mono" }, id), h("td", { colspan: "4" }, errorBox(info.failed)));
  const keys = (info.keys || []).map(dec);
  const del = confirmInline("Revoke " + id + " and delete its keys?", async () => {
    try {
      await v3("lease/revoke", { ID: info.ID });
      toast("Revoked lease " + id);
      refresh();
    } catch (err) { del.box.appendChild(errorBox(err)); }
  });
  del.ask.textContent = "Revoke";
  del.ask.setAttribute("data-testid", "revoke");
  return h("tr", { "data-lease": id },
    h("td", { class: "mono" }, id),
    h("td", { class: "num", "data-ttl": info.ID }, info.TTL + " s"),
    h("td", { class: "num" }, info.grantedTTL + " s"),
    h("td", { class: "mono" }, keys.length === 0 ? h("span", { class: "muted" }, "none") :
      keys.slice(0, maxKeysShown).map((k) => h("div", {}, h("a", {
        href: "/ui/keys?key=" + encodeURIComponent(k), "data-lease-key": k,
        onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.getAttribute("href")); },
      }, k))),
      keys.length > maxKeysShown ? h("div", { class: "muted" }, "and " + (keys.length - maxKeysShown) + " more") : null),
    h("td", {}, del.box));
}
