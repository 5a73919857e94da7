// The cluster page: members with their raft and storage status, their
// health as their own /health says, alarms (root disarms them), and the
// revisions.

import { get, metrics, v3 } from "./api.js";
import { badge, bytesText, errorBox, every, h, replace, table, toast } from "./dom.js";

export async function render(main, params, signal) {
  const summary = h("div", { class: "panel", id: "cluster-summary" });
  const membersBox = h("div", { class: "panel", id: "members" });
  const alarmsBox = h("div", { class: "panel", id: "alarms" });
  replace(main, h("h1", {}, "Cluster"), summary, membersBox, alarmsBox);
  await every(3000, signal, async () => {
    const [list, local] = await Promise.all([v3("cluster/member/list", {}), v3("maintenance/status", {})]);
    const ms = list.members || [];
    const [statuses, healths] = await Promise.all([
      Promise.all(ms.map((m) => memberStatus(m, local))),
      Promise.all(ms.map(memberHealth)),
    ]);
    if (signal.aborted) return;
    renderSummary(summary, list, local);
    renderMembers(membersBox, ms, statuses, healths);
    await renderAlarms(alarmsBox, ms, signal);
  });
}

// memberStatus asks a member's Status through its own console (the local
// one directly).
async function memberStatus(m, local) {
  if (m.ID === local.header.member_id) return local;
  try {
    return await get("member-status?id=" + encodeURIComponent(m.ID));
  } catch (err) {
    return { failed: err.message };
  }
}

// memberHealth asks a member's /health, as etcd's users do, through the
// console: {health: "true"|"false", reason}, or {failed} when the member
// did not answer.
async function memberHealth(m) {
  if (!(m.clientURLs || []).length) return { failed: "no client URL yet" };
  try {
    return await get("member-health?id=" + encodeURIComponent(m.ID));
  } catch (err) {
    return { failed: err.message };
  }
}

async function renderSummary(box, list, local) {
  let compacted = "";
  try {
    const mx = await metrics();
    const rev = mx.sum("etcd_debugging_mvcc_compact_revision");
    compacted = rev > 0 ? String(rev) : "none";
  } catch { compacted = "?"; }
  replace(box, h("dl", { class: "kv" },
    h("dt", {}, "Cluster ID"), h("dd", { class: "mono" }, hexID(list.header.cluster_id)),
    h("dt", {}, "Members"), h("dd", { id: "member-count" }, String((list.members || []).length)),
    h("dt", {}, "Leader"), h("dd", { class: "mono" }, hexID(local.leader)),
    h("dt", {}, "Revision"), h("dd", { id: "revision" }, String(local.header.revision || 0)),
    h("dt", {}, "Compacted revision"), h("dd", { id: "compact-revision" }, compacted),
    h("dt", {}, "Raft term"), h("dd", {}, String(local.raftTerm || 0))));
}

// renderMembers shows each member's health from its /health and the rest
// from its Status, whose errors show under the health.
function renderMembers(box, ms, statuses, healths) {
  const rows = ms.map((m, i) => {
    const st = statuses[i];
    const hl = healths[i];
    return h("tr", { "data-member": m.name || "" },
      h("td", {}, m.name || h("span", { class: "muted" }, "(unstarted)")),
      h("td", { class: "mono" }, hexID(m.ID)),
      h("td", { class: "mono" }, (m.peerURLs || []).join(", ")),
      h("td", { class: "mono" }, (m.clientURLs || []).join(", ")),
      h("td", {}, m.isLearner ? badge("learner", "warn") : "voter"),
      h("td", {}, st && st.leader === m.ID ? badge("leader", "ok") : ""),
      h("td", { "data-testid": "health" },
        hl.failed ? badge("unreachable", "bad") : hl.health === "true" ? badge("healthy", "ok") : badge("unhealthy", "bad"),
        hl.failed ? h("div", { class: "muted" }, hl.failed) : null,
        hl.reason ? h("div", { class: "muted", "data-testid": "health-reason" }, hl.reason) : null,
        st && st.failed && !hl.failed ? h("div", { class: "muted" }, st.failed) : null,
        st && st.errors ? h("div", { class: "muted" }, st.errors.join("; ")) : null),
      h("td", { class: "num" }, st && !st.failed ? String(st.raftTerm || 0) : ""),
      h("td", { class: "num" }, st && !st.failed ? String(st.raftAppliedIndex || 0) : ""),
      h("td", { class: "num" }, st && !st.failed ? bytesText(st.dbSize) + " / " + bytesText(st.dbSizeInUse) : ""),
      h("td", {}, st && !st.failed ? st.version || "" : ""));
  });
  replace(box, h("h2", {}, "Members"), table(
    ["Name", "ID", "Peer URLs", "Client URLs", "Role", "Leader", "Health", "Term", "Applied", "DB size / in use", "Version"],
    rows, { id: "members-table" }));
}

async function renderAlarms(box, ms, signal) {
  let alarms;
  try {
    alarms = (await v3("maintenance/alarm", { action: "GET" })).alarms || [];
  } catch (err) {
    replace(box, h("h2", {}, "Alarms"), errorBox(err));
    return;
  }
  if (signal.aborted) return;
  const names = new Map(ms.map((m) => [m.ID, m.name]));
  replace(box, h("h2", {}, "Alarms"), alarms.length === 0 ? h("p", { class: "muted", id: "no-alarms" }, "No alarms.") :
    table(["Member", "Alarm", ""], alarms.map((a) => h("tr", { "data-alarm": a.alarm || "NONE" },
      h("td", {}, names.get(a.memberID) || hexID(a.memberID)),
      h("td", {}, badge(a.alarm || "NONE", "bad")),
      h("td", {}, h("button", {
        "data-testid": "disarm",
        onclick: async () => {
          try {
            await v3("maintenance/alarm", { action: "DEACTIVATE", memberID: a.memberID, alarm: a.alarm });
            toast("Alarm disarmed");
            await renderAlarms(box, ms, signal);
          } catch (err) { box.appendChild(errorBox(err)); }
        },
      }, "Disarm"))))));
}

export function hexID(id) {
  return id ? BigInt(id).toString(16) : "";
}
