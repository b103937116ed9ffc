// nettwin dashboard: the Shadow panel. Proposals an agent made (POST .../proposals, operator
// role: from a policy, an RL agent or this form), each judged by the twin on the live state
// at that instant and never applied; the timeline shows the verdict, the predicted change of
// the maximum link utilisation (MLU), the same change re-predicted with the traffic that came
// after it, and the MLU measured then; the scorecard sums them per agent.
"use strict";

const SHADOW_VERDICT = { SAFE: "v-safe", RISKY: "v-risky", UNSAFE: "v-unsafe" };
const points = (d) => (d == null || !isFinite(d) ? "—" : `${d > 0 ? "+" : ""}${(100 * d).toFixed(1)} pt`);
const shadowUrl = (nid) => `${API}/networks/${encodeURIComponent(nid)}/proposals`;

async function loadShadow() {
  const nid = ui.nid;
  if (!nid) return;
  try {
    const [list, score] = await Promise.all([api(`${shadowUrl(nid)}?limit=100`), api(`${shadowUrl(nid)}/scorecard`)]);
    if (nid !== ui.nid) return;
    renderShadow(list.proposals, score.agents);
    $("#shadow-error").textContent = "";
  } catch (e) {
    $("#shadow-error").textContent = `proposals: ${e.message}`;
  }
}

function renderShadow(records, agents) {
  const rows = records.slice().reverse().map((r) => ({
    id: r.id, time: r.time, agent: r.agent, verdict: r.verdict, basis: r.basis, change: r.change,
    reasons: r.reasons.join("; ") || "nothing found",
    delta: r.predicted.delta_max_utilisation,
    later: r.hindsight ? r.hindsight.predicted.delta_max_utilisation : null,
    measured: r.hindsight ? r.hindsight.measured_max_utilisation : null,
  }));
  $("#shadow-timeline").innerHTML = rows.length ? table(rows, [
    ["time", "time", (t) => esc(clock(t))],
    ["agent", "agent"],
    ["verdict", "verdict", (v, r) => `<span class="vtag ${SHADOW_VERDICT[v] || ""}" title="${esc(r.reasons)}">${esc(v)}</span>`],
    ["ΔMLU", "delta", points, true],
    ["later", "later", points, true],
    ["measured", "measured", pct, true],
  ], "shadow-table", { name: "proposals", attrs: (r) => ` data-proposal="${esc(r.id)}" title="${esc(`${r.change} (on the ${r.basis} state)`)}"` })
    : '<p class="hint">no proposals yet</p>';
  $("#shadow-score").innerHTML = agents.length ? table(agents, [
    ["agent", "agent"],
    ["proposals", "proposals", null, true],
    ["unsafe", "unsafe_caught", null, true],
    ["risky", "risky", null, true],
    ["gain", "predicted_gain", points, true],
    ["error", "realised_vs_predicted_error", points, true],
  ], "shadow-score-table", { name: "scorecard" }) : "";
}

async function proposeFromForm() {
  const body = { agent: $("#shadow-agent").value.trim() || "dashboard" };
  const changes = $("#shadow-changes").value.trim();
  const snippet = $("#shadow-snippet").value.trim();
  const out = $("#shadow-last");
  try {
    if (changes) body.changes = JSON.parse(changes);
  } catch (e) {
    out.textContent = `scenario changes are not JSON: ${e.message}`;
    return;
  }
  if (snippet) body.snippets = [{ text: snippet + "\n" }];
  out.textContent = "judging…";
  try {
    const r = await api(shadowUrl(ui.nid), { method: "POST", body });
    out.innerHTML = `<span class="vtag ${SHADOW_VERDICT[r.verdict]}">${esc(r.verdict)}</span> ${esc(r.change)} on the ${esc(r.basis)} state: MLU ${pct(r.predicted.max_utilisation_before)} → ${pct(r.predicted.max_utilisation_after)} (not applied)`;
    await loadShadow();
  } catch (e) {
    out.textContent = e.message;
  }
}

window.addEventListener("DOMContentLoaded", () => {
  $("[data-tab=shadow]").addEventListener("click", loadShadow);
  $("#shadow-refresh").addEventListener("click", loadShadow);
  $("#shadow-propose").addEventListener("click", proposeFromForm);
  $("#network").addEventListener("change", () => {
    $("#shadow-timeline").innerHTML = ""; $("#shadow-score").innerHTML = ""; $("#shadow-last").textContent = "";
    if (!$("#panel-shadow").hidden) loadShadow();
  });
});
