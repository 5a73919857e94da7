// The keys page: a prefix tree browsed a page of keys at a time, a key's
// value (text, JSON, YAML or hex), its revisions and history, put, edit
// and delete, and a live tail of the prefix's changes (a watch).

import { APIError, b64, bytes, dec, enc, formatYAML, hex, leaseHex, prefixEnd, text, v3, watch } from "./api.js";
import { confirmInline, errorBox, h, navigate, replace, toast } from "./dom.js";

const pageSize = 100;
const historyDepth = 10;

export async function render(main, params, signal) {
  const prefix = params.get("prefix") || "";
  const selected = params.get("key");
  const treeBox = h("div", { class: "panel", id: "tree" });
  const detail = h("div", { class: "panel grow", id: "detail" });
  const tailBox = h("div", { class: "tail", id: "tail" });
  const prefixInput = h("input", { id: "prefix", value: prefix, placeholder: "prefix, e.g. /registry/", size: 40 });
  replace(main,
    h("h1", {}, "Keys"),
    h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); navigate(keysURL(prefixInput.value)); } },
      h("label", { for: "prefix" }, "Prefix"), prefixInput, h("button", { type: "submit" }, "Browse"),
      h("button", { type: "button", id: "new-key", onclick: () => renderEditor(detail, prefix, "", "", true) }, "New key")),
    h("div", { class: "row" }, h("div", { style: "width: 340px" }, treeBox), detail),
    h("div", { class: "panel" }, h("h2", {}, "Live changes under ", h("code", {}, prefix || "(all keys)")), tailBox));
  if (selected !== null) showKey(detail, prefix, selected);
  else replace(detail, h("p", { class: "muted" }, "Select a key."));
  await loadTree(treeBox, prefix, detail, "");
  tail(tailBox, prefix, signal);
}

function keysURL(prefix, key) {
  const q = new URLSearchParams();
  if (prefix) q.set("prefix", prefix);
  if (key !== undefined) q.set("key", key);
  const s = q.toString();
  return "/ui/keys" + (s ? "?" + s : "");
}

// loadTree lists a page of keys under prefix from after (a key, "" for
// the first page) and groups them by their next "/" segment.
async function loadTree(box, prefix, detail, after) {
  const start = after ? enc(after + "\0") : enc(prefix);
  const resp = await v3("kv/range", {
    key: prefix || after ? start : b64(new Uint8Array([0])),
    range_end: prefix ? prefixEnd(enc(prefix)) : b64(new Uint8Array([0])),
    keys_only: true, limit: pageSize,
  });
  const kvs = resp.kvs || [];
  if (!after) replace(box, h("ul", { class: "tree", id: "tree-list" }));
  const list = box.querySelector("#tree-list");
  box.querySelector("#tree-more")?.remove();
  const dirs = new Set(Array.from(list.querySelectorAll("li.dir"), (li) => li.dataset.dir));
  for (const kv of kvs) {
    const key = dec(kv.key);
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf("/", rest.startsWith("/") ? 1 : 0);
    if (slash >= 0 && slash < rest.length - 1) {
      const dir = prefix + rest.slice(0, slash + 1);
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      list.appendChild(h("li", { class: "dir", "data-dir": dir, onclick: () => navigate(keysURL(dir)) }, rest.slice(0, slash + 1)));
    } else {
      list.appendChild(h("li", {
        "data-key": key, onclick: (e) => {
          for (const li of list.querySelectorAll("li.selected")) li.classList.remove("selected");
          e.currentTarget.classList.add("selected");
          history.replaceState(null, "", keysURL(prefix, key));
          showKey(detail, prefix, key);
        },
      }, rest || key));
    }
  }
  if (kvs.length === 0 && !after) list.appendChild(h("li", { class: "muted" }, "No keys."));
  if (resp.more) {
    const last = dec(kvs[kvs.length - 1].key);
    box.appendChild(h("button", { id: "tree-more", onclick: () => loadTree(box, prefix, detail, last) }, "More keys"));
  }
}

// showKey shows key's value, revisions and history in box.
async function showKey(box, prefix, key) {
  replace(box, h("p", { class: "muted" }, "Loading…"));
  let resp;
  try {
    resp = await v3("kv/range", { key: enc(key) });
  } catch (err) {
    replace(box, errorBox(err));
    return;
  }
  const kv = (resp.kvs || [])[0];
  if (!kv) {
    replace(box, h("p", { class: "muted" }, "The key ", h("code", {}, key), " does not exist (any more)."));
    return;
  }
  const raw = bytes(kv.value);
  const mode = h("select", { id: "value-mode" }, ["auto", "text", "json", "yaml", "hex"].map((m) => h("option", { value: m }, m)));
  const view = h("pre", { id: "value", "data-testid": "value" });
  const kind = h("span", { class: "badge", id: "value-kind" });
  let drawing = 0;
  const draw = async () => {
    const n = ++drawing;
    const [k, t] = formatValue(raw, mode.value);
    kind.textContent = k;
    view.textContent = t;
    if (k !== "yaml") return;
    // YAML is shown as written until the member has pretty-printed it.
    try {
      const pretty = await formatYAML(text(raw));
      if (n === drawing) view.textContent = pretty.trimEnd();
    } catch (err) {
      if (n === drawing && err.status === 422) kind.textContent = mode.value === "yaml" ? "text (not YAML)" : "text";
    }
  };
  mode.addEventListener("change", draw);
  draw();
  const historyBox = h("div", { id: "history" }, h("p", { class: "muted" }, "Loading history…"));
  const del = confirmInline("Delete " + key + "?", async () => {
    try {
      await v3("kv/deleterange", { key: enc(key) });
      toast("Deleted " + key);
      navigate(keysURL(prefix));
    } catch (err) { box.appendChild(errorBox(err)); }
  });
  replace(box,
    h("h2", { id: "key-name" }, key),
    h("dl", { class: "kv" },
      h("dt", {}, "Create revision"), h("dd", { id: "create-revision" }, kv.create_revision || "0"),
      h("dt", {}, "Mod revision"), h("dd", { id: "mod-revision" }, kv.mod_revision || "0"),
      h("dt", {}, "Version"), h("dd", { id: "version" }, kv.version || "0"),
      h("dt", {}, "Lease"), h("dd", { id: "lease" }, kv.lease ? h("a", {
        href: "/ui/leases", class: "mono", onclick: (e) => { e.preventDefault(); navigate("/ui/leases"); },
      }, leaseHex(kv.lease)) : "none"),
      h("dt", {}, "Size"), h("dd", {}, raw.length + " bytes")),
    h("div", { class: "inline" }, "Show as ", mode, " ", kind),
    view,
    h("div", { class: "inline", style: "margin-top: 10px" },
      h("button", {
        id: "edit", disabled: text(raw) === null, title: text(raw) === null ? "A binary value: put it with etcdctl" : null,
        onclick: () => renderEditor(box, prefix, key, text(raw), false, kv.lease),
      }, "Edit"), " ", del.box),
    h("h2", {}, "History"), historyBox);
  loadHistory(historyBox, key, kv);
}

// formatValue renders a value: JSON pretty-printed when it parses, YAML
// as written when it looks like YAML (the member pretty-prints it next),
// text when it is UTF-8, hex otherwise.
export function formatValue(raw, mode) {
  const t = text(raw);
  if (mode === "hex" || (mode === "auto" && t === null)) return ["hex", hex(raw)];
  if (t === null) return ["hex", hex(raw)];
  if (mode === "json" || mode === "auto") {
    try {
      return ["json", JSON.stringify(JSON.parse(t), null, 2)];
    } catch {
      if (mode === "json") return ["text (not JSON)", t];
    }
  }
  if (mode === "yaml" || (mode === "auto" && looksLikeYAML(t))) return ["yaml", t.replace(/\t/g, "  ").trimEnd()];
  return ["text", t];
}

function looksLikeYAML(t) {
  const lines = t.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
  return lines.length > 1 && lines.every((l) => /^\s*(- |[\w.\-"']+:(\s|$))/.test(l) || /^\s+\S/.test(l) || l === "---");
}

// loadHistory reads the key's earlier versions, each at the revision
// before the next one's, until its first version or the compacted
// revision.
async function loadHistory(box, key, kv) {
  const rows = [];
  let cur = kv;
  let note = "";
  while (rows.length < historyDepth) {
    rows.push(cur);
    if (Number(cur.version) <= 1) break;
    try {
      const resp = await v3("kv/range", { key: enc(key), revision: String(Number(cur.mod_revision) - 1) });
      cur = (resp.kvs || [])[0];
      if (!cur) break;
    } catch (err) {
      note = err instanceof APIError && /compacted/.test(err.message) ? "Older versions were compacted." : err.message;
      break;
    }
  }
  replace(box, h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "Mod revision"), h("th", {}, "Version"), h("th", {}, "Value"))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("td", {}, r.mod_revision), h("td", {}, r.version),
      h("td", { class: "mono" }, clip(dec(r.value), 200)))))),
  note ? h("p", { class: "muted" }, note) : null);
}

function clip(s, n) { return s.length > n ? s.slice(0, n) + "…" : s; }

// renderEditor shows a form that puts key (editable when creating).
function renderEditor(box, prefix, key, value, creating, lease) {
  const keyInput = h("input", { id: "edit-key", value: creating ? prefix : key, size: 50, disabled: !creating });
  const valueInput = h("textarea", { id: "edit-value" });
  valueInput.value = value;
  const leaseInput = h("input", { id: "edit-lease", value: lease && lease !== "0" ? leaseHex(lease) : "", placeholder: "lease ID (hex), optional", size: 20 });
  const msg = h("div");
  replace(box,
    h("h2", {}, creating ? "New key" : "Edit " + key),
    h("form", {
      onsubmit: async (e) => {
        e.preventDefault();
        const k = keyInput.value;
        if (!k) { replace(msg, errorBox("The key is empty.")); return; }
        const body = { key: enc(k), value: enc(valueInput.value) };
        if (leaseInput.value.trim()) body.lease = BigInt("0x" + leaseInput.value.trim()).toString();
        try {
          await v3("kv/put", body);
          toast("Saved " + k);
          navigate(keysURL(prefix, k));
        } catch (err) { replace(msg, errorBox(err)); }
      },
    },
    h("p", {}, h("label", {}, "Key ", keyInput)),
    h("p", {}, valueInput),
    h("p", {}, h("label", {}, "Lease ", leaseInput)),
    msg,
    h("button", { class: "primary", type: "submit", id: "save" }, "Save"), " ",
    h("button", { type: "button", onclick: () => (creating ? replace(box, h("p", { class: "muted" }, "Select a key.")) : showKey(box, prefix, key)) }, "Cancel")));
}

// tail watches the prefix from now on and lists its changes, newest
// first, keeping the last 200.
async function tail(box, prefix, signal) {
  replace(box, h("p", { class: "muted", id: "tail-status" }, "Watching…"));
  const create = prefix ? { key: enc(prefix), range_end: prefixEnd(enc(prefix)) } : { key: b64(new Uint8Array([0])), range_end: b64(new Uint8Array([0])) };
  try {
    await watch(create, (res) => {
      if (res.created) box.querySelector("#tail-status").textContent = "Watching since revision " + res.header.revision + ".";
      if (res.compact_revision && res.compact_revision !== "0") box.appendChild(errorBox("Compacted at " + res.compact_revision));
      for (const ev of res.events || []) {
        const type = ev.type === "DELETE" ? "DELETE" : "PUT";
        const row = h("div", { class: "mono", "data-testid": "tail-event" },
          new Date().toLocaleTimeString(), "  ", type, "  ", dec(ev.kv.key),
          type === "PUT" ? "  =  " + clip(dec(ev.kv.value), 120) : "", "  @", ev.kv.mod_revision || (res.header && res.header.revision));
        box.insertBefore(row, box.children[1] || null);
        while (box.children.length > 201) box.lastChild.remove();
      }
    }, signal);
  } catch (err) {
    if (!signal.aborted) box.appendChild(errorBox(err));
  }
}
