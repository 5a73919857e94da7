// The console's shell: the navigation between pages by their deep links
// (/ui/members, /ui/keys?prefix=P, …), the login form, and who is logged
// in. Each page is a module with render(main, params, signal); a page
// stops its timers and streams when signal aborts.

import { APIError, post, v3 } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import * as members from "./members.js";
import * as keys from "./keys.js";
import * as leases from "./leases.js";
import * as auth from "./auth.js";
import * as plugins from "./plugins.js";
import * as metricsPage from "./metrics.js";

const pages = { "": members, members, keys, leases, auth, plugins, metrics: metricsPage };

const main = document.getElementById("main");
let current = null; // the AbortController of the page shown

// user is who logged in, as this tab remembers it ("" when nobody).
export function user() { return sessionStorage.getItem("metastore.user") || ""; }

function setUser(name) {
  if (name) sessionStorage.setItem("metastore.user", name);
  else sessionStorage.removeItem("metastore.user");
  document.getElementById("whoami").textContent = name ? "Signed in as " + name : "";
  document.getElementById("logout").hidden = !name;
}

// go shows the page of url, pushing it to the history when push is set.
export function go(url, push = true) {
  if (push) history.pushState(null, "", url);
  show();
}

async function show() {
  if (current) current.abort();
  current = new AbortController();
  const signal = current.signal;
  const path = location.pathname.replace(/^\/ui\/?/, "").replace(/\/$/, "");
  const page = pages[path];
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === (path || "members"));
  if (!page) {
    replace(main, errorBox("No such page: " + location.pathname));
    return;
  }
  replace(main, h("p", { class: "muted" }, "Loading…"));
  try {
    await page.render(main, new URLSearchParams(location.search), signal);
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof APIError && err.needsLogin) return; // the login form shows
    replace(main, errorBox(err));
  }
}

function showLogin(reason) {
  if (current) current.abort();
  const name = h("input", { id: "login-name", placeholder: "User", autocomplete: "username", value: "root" });
  const password = h("input", { id: "login-password", type: "password", placeholder: "Password", autocomplete: "current-password" });
  const msg = h("div");
  const form = h("form", {
    class: "panel login", id: "login",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await post("login", { name: name.value, password: password.value });
        setUser(r.name);
        show();
      } catch (err) {
        replace(msg, errorBox(err));
      }
    },
  },
  h("h1", {}, "Sign in"),
  h("p", { class: "muted" }, "Authentication is enabled on this cluster."),
  reason ? h("p", { class: "muted" }, String(reason)) : null,
  name, password, msg,
  h("button", { class: "primary", type: "submit", id: "login-submit" }, "Sign in"));
  replace(main, form);
  setUser("");
  password.focus();
}

window.addEventListener("console:login", (e) => showLogin(e.detail && e.detail.message));
window.addEventListener("popstate", () => show());
window.addEventListener("console:go", (e) => go(e.detail));
document.getElementById("nav").addEventListener("click", (e) => {
  const a = e.target.closest("a");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute("href"));
});
document.getElementById("logout").addEventListener("click", async () => {
  await post("logout").catch(() => {});
  setUser("");
  showLogin("");
});

// whether auth is on decides how the page starts; a stale tab user whose
// cookie expired meets the login form on its first request.
(async () => {
  setUser(user());
  try {
    const st = await v3("auth/status");
    if (!st.enabled) setUser("");
  } catch { /* the page shows the error */ }
  show();
})();
