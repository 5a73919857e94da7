// Building the page: every string becomes a text node, never markup, so
// keys and values from the store are always shown as text.

// h creates an element: attrs sets properties ("class", "on…" handlers,
// "data-…" and other attributes); children are nodes, strings (as text),
// or arrays of them; null and false are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "style") el.style.cssText = value; // through the CSSOM, which the page's CSP allows
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "value") el.value = value;
    else if (name === "checked" || name === "disabled" || name === "hidden") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// errorBox shows err as text.
export function errorBox(err) {
  return h("div", { class: "error", "data-testid": "error" }, String(err && err.message ? err.message : err));
}

// table builds a table from header names and rows of cells.
export function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}

// badge is a small label; kind is "", "ok", "bad" or "warn".
export function badge(text, kind = "") {
  return h("span", { class: "badge " + kind }, text);
}

// confirmInline replaces button's place with a question and two buttons
// until one is clicked; yes runs the action.
export function confirmInline(question, yes) {
  const box = h("span", { class: "confirm", "data-testid": "confirm" });
  const ask = h("button", {
    class: "danger", onclick: () => {
      replace(box, h("span", {}, question, " "),
        h("button", { class: "danger", "data-testid": "confirm-yes", onclick: yes }, "Yes"), " ",
        h("button", { onclick: () => replace(box, ask) }, "Cancel"));
    },
  }, "Delete");
  return { box: replace(box, ask), ask };
}

// toast shows a short message for a few seconds.
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3000);
}

// bytesText renders a byte count.
export function bytesText(n) {
  n = Number(n || 0);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

// navigate shows the console page of url (a deep link under /ui/).
export function navigate(url) {
  window.dispatchEvent(new CustomEvent("console:go", { detail: url }));
}

// every runs f now and every ms until signal aborts, one run at a time.
// The first run's error is the caller's (the page shows it); a later
// run's error is shown in place of the banner of the page's main element.
export async function every(ms, signal, f) {
  await f();
  const tick = async () => {
    if (signal.aborted) return;
    const banner = document.getElementById("refresh-error");
    try {
      await f();
      banner?.remove();
    } catch (err) {
      if (signal.aborted) return;
      const box = errorBox(err);
      box.id = "refresh-error";
      if (banner) banner.replaceWith(box);
      else document.getElementById("main").prepend(box);
    }
    if (!signal.aborted) setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}
