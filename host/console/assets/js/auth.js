// The auth page: users, roles and their permissions. Root sees and edits
// them all; another user sees their own user and roles, and what they may
// not read shows as permission denied.

import { dec, enc, prefixEnd, v3 } from "./api.js";
import { badge, errorBox, h, replace, table, toast } from "./dom.js";
import { user } from "./app.js";

export async function render(main, params, signal) {
  const st = await v3("auth/status", {});
  if (!st.enabled) {
    replace(main, h("h1", {}, "Auth"), h("div", { class: "panel" }, h("p", { id: "auth-disabled" }, "Authentication is disabled: every client may read and write every key."),
      h("p", { class: "muted" }, "Enable it with etcdctl: add the root user, then ", h("code", {}, "etcdctl auth enable"), ".")));
    return;
  }
  const me = user();
  let users;
  try {
    users = (await v3("auth/user/list", {})).users || [];
  } catch (err) {
    if (!err.denied) throw err;
    return renderOwn(main, me);
  }
  const roles = (await v3("auth/role/list", {})).roles || [];
  const roleInfo = await Promise.all(roles.map((r) => v3("auth/role/get", { role: r }).then((x) => x.perm || [])));
  const userInfo = await Promise.all(users.map((u) => v3("auth/user/get", { name: u }).then((x) => x.roles || [])));
  if (signal.aborted) return;
  const reload = () => render(main, params, signal);
  replace(main, h("h1", {}, "Auth"),
    h("div", { class: "panel" }, h("h2", {}, "Users"),
      table(["User", "Roles", ""], users.map((u, i) => h("tr", { "data-user": u }, h("td", {}, u),
        h("td", {}, userInfo[i].map((r) => [badge(r), u === "root" && r === "root" ? "" :
          h("button", { class: "link-dark", title: "Revoke " + r + " from " + u, "data-revoke-role": r,
            onclick: act(main, () => v3("auth/user/revoke", { name: u, role: r }), "Revoked " + r + " from " + u, reload) }, "×"), " "])),
        h("td", {}, u === "root" ? "" : h("button", { class: "danger", onclick: act(main, () => v3("auth/user/delete", { name: u }), "Deleted user " + u, reload) }, "Delete"))))),
      userForm(main, roles, reload)),
    h("div", { class: "panel" }, h("h2", {}, "Roles"),
      table(["Role", "Permissions", ""], roles.map((r, i) => h("tr", { "data-role": r }, h("td", {}, r),
        h("td", {}, roleInfo[i].length === 0 ? h("span", { class: "muted" }, r === "root" ? "everything" : "none") :
          roleInfo[i].map((p) => h("div", { class: "mono" }, permText(p), " ", r === "root" ? "" : h("button", {
            class: "link-dark", title: "Revoke this permission", "data-revoke-perm": dec(p.key),
            onclick: act(main, () => v3("auth/role/revoke", { role: r, key: p.key, range_end: p.range_end || "" }), "Revoked a permission of " + r, reload),
          }, "×")))),
        h("td", {}, r === "root" ? "" : h("button", { class: "danger", onclick: act(main, () => v3("auth/role/delete", { role: r }), "Deleted role " + r, reload) }, "Delete"))))),
      roleForm(main, roles, reload)));
}

async function renderOwn(main, me) {
  const box = h("div", { class: "panel", id: "own-user" });
  replace(main, h("h1", {}, "Auth"), box);
  if (!me) { replace(box, errorBox("permission denied")); return; }
  let roles = [];
  try {
    roles = (await v3("auth/user/get", { name: me })).roles || [];
  } catch (err) {
    replace(box, h("h2", {}, me), errorBox(err));
    return;
  }
  const perms = await Promise.all(roles.map((r) => v3("auth/role/get", { role: r }).then((x) => x.perm || [], (err) => err)));
  replace(box, h("h2", {}, "Signed in as " + me),
    h("p", { class: "muted" }, "Only root sees and edits every user and role."),
    table(["Role", "Permissions"], roles.map((r, i) => h("tr", {}, h("td", {}, r),
      h("td", {}, perms[i] instanceof Error ? errorBox(perms[i]) : perms[i].map((p) => h("div", { class: "mono" }, permText(p))))))));
}

function permText(p) {
  const key = dec(p.key);
  if (!key && p.range_end === "AA==") return (p.permType || "READ") + "  every key";
  let range = "";
  if (p.range_end) {
    const end = p.range_end;
    range = end === prefixEnd(p.key) ? " (prefix)" : end === "AA==" ? " (and every key after)" : " to " + dec(end);
  }
  return (p.permType || "READ") + "  " + key + range;
}

function act(main, f, done, reload) {
  return async () => {
    try {
      await f();
      toast(done);
      reload();
    } catch (err) { main.appendChild(errorBox(err)); }
  };
}

function userForm(main, roles, reload) {
  const name = h("input", { id: "new-user", placeholder: "user" });
  const password = h("input", { id: "new-user-password", type: "password", placeholder: "password" });
  const role = h("select", { id: "grant-role" }, h("option", { value: "" }, "(no role)"), roles.map((r) => h("option", { value: r }, r)));
  return h("form", {
    class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      await act(main, async () => {
        const users = (await v3("auth/user/list", {})).users || [];
        if (!users.includes(name.value)) await v3("auth/user/add", { name: name.value, password: password.value });
        if (role.value) await v3("auth/user/grant", { user: name.value, role: role.value });
      }, "Saved user " + name.value, reload)();
    },
  }, "Add a user or grant a role: ", name, password, role, h("button", { type: "submit" }, "Save"));
}

function roleForm(main, roles, reload) {
  const role = h("input", { id: "perm-role", placeholder: "role" });
  const type = h("select", { id: "perm-type" }, ["READ", "WRITE", "READWRITE"].map((t) => h("option", { value: t }, t)));
  const key = h("input", { id: "perm-key", placeholder: "key or prefix" });
  const prefix = h("input", { id: "perm-prefix", type: "checkbox", checked: true });
  return h("form", {
    class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      await act(main, async () => {
        if (!roles.includes(role.value)) await v3("auth/role/add", { name: role.value });
        if (key.value) {
          const perm = { permType: type.value, key: enc(key.value) };
          if (prefix.checked) perm.range_end = prefixEnd(enc(key.value));
          await v3("auth/role/grant", { name: role.value, perm });
        }
      }, "Saved role " + role.value, reload)();
    },
  }, "Add a role or grant a permission: ", role, type, key, h("label", {}, prefix, " prefix"), h("button", { type: "submit" }, "Save"));
}
