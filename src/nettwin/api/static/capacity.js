// nettwin dashboard: capacity planning inside the Optimise panel (issue 18). Runs
// POST .../optimize/capacity as a job with one module type (capacity, cost) for every link,
// then shows the plan's cost beside its bounds, the upgrades, and the map after the plan:
// the what-if of the plan's own changes (set_capacity / add_link) on the planned traffic,
// upgraded links highlighted. No plan: the binding constraint, in words.
// Loaded after optimise.js; builds its controls into #cap-panel and binds its own events
// (no inline handlers: strict CSP).
"use strict";

const cap = { job: null, plan: null };

function capacityControls() {
  $("#cap-panel").innerHTML = `<h4>Capacity plan</h4>
    <p class="hint">The cheapest modules keeping every link under the threshold, normally and
      under every single failure (<code>nettwin optimize capacity</code>).</p>
    <label>module Gbit/s <input id="cap-module" type="number" min="0.001" step="any" value="10" size="5"></label>
    <label>cost <input id="cap-cost" type="number" min="0" step="any" value="1000" size="6"></label>
    <label>threshold <input id="cap-threshold" type="number" min="0.05" max="1" step="0.05" value="0.8" size="4"></label>
    <label>survive <select id="cap-survive"><option value="none">none</option>
      <option value="n-1" selected>n-1</option><option value="srlg">srlg</option></select></label>
    <div><button id="cap-run">plan capacity</button> <button id="cap-cancel" hidden>stop</button>
      <progress id="cap-progress" max="1" value="0" hidden></progress>
      <span id="cap-status" class="hint"></span></div>
    <div id="cap-result"></div>`;
}

function capacityBody() {
  return {
    modules: { default: { modules: [{ name: `${$("#cap-module").value}G`,
      capacity_bps: 1e9 * Math.max(0.001, parseFloat($("#cap-module").value) || 10),
      cost: Math.max(0, parseFloat($("#cap-cost").value) || 0) }] } },
    threshold: Math.min(1, Math.max(0.05, parseFloat($("#cap-threshold").value) || 0.8)),
    survive: $("#cap-survive").value,
    time_limit_s: 60,
  };
}

async function runCapacity() {
  const box = $("#cap-result"), bar = $("#cap-progress"), status = $("#cap-status");
  const gen = ui.generation, nid = ui.nid;
  box.innerHTML = ""; bar.hidden = false; bar.value = 0; cap.plan = null;
  $("#cap-run").disabled = true; $("#cap-cancel").hidden = false;
  status.textContent = "planning…";
  try {
    const job = await api(`${API}/networks/${nid}/optimize/capacity`, { method: "POST", body: capacityBody() });
    cap.job = job.id;
    let st = job;
    while (st.state === "queued" || st.state === "running") {
      await new Promise((r) => setTimeout(r, 300));
      if (gen !== ui.generation) return;
      st = await api(`${API}/jobs/${job.id}`);
      if (st.total) bar.value = st.done / st.total;
    }
    if (st.state !== "done") throw new ApiError(`capacity plan ${st.state}${st.error ? ": " + st.error : ""}`);
    const plan = await api(`${API}/jobs/${job.id}/capacity-plan`);
    if (gen !== ui.generation) return;
    box.dataset.job = job.id;
    if (!plan.feasible) {
      status.textContent = "";
      box.innerHTML = `<p class="error" id="cap-infeasible">${esc(plan.explanation)}</p>`;
      return;
    }
    status.textContent = "re-simulating the plan…";
    const [base, after] = await Promise.all([
      api(`${API}/networks/${nid}/basis?kind=plan`),
      plan.whatif.changes.length
        ? api(`${API}/networks/${nid}/whatif?limit=100000`, { method: "POST", body: Object.assign({}, plan.whatif, { basis: "plan" }) })
        : Promise.resolve(null),
    ]);
    if (gen !== ui.generation) return;
    cap.plan = plan;
    cap.up = {}; cap.after = {};
    for (const a of base.arcs) { cap.after[a.arc] = a.utilisation; cap.up[a.arc] = a.up; }
    if (after) for (const c of after.arc_changes) cap.after[c.arc] = c.utilisation_after;
    status.textContent = "";
    renderCapacity(after);
    showCapacity();
  } catch (e) {
    status.textContent = "";
    box.innerHTML = `<p class="error" id="cap-error">${esc(e.message)}</p>`;
  } finally {
    bar.hidden = true; cap.job = null;
    $("#cap-run").disabled = false; $("#cap-cancel").hidden = true;
  }
}

function renderCapacity(after) {
  const d = cap.plan;
  const rows = d.upgrades.map((u) => ({ link: u.link, modules: u.modules.map((m) => `${m.count} × ${m.module}`).join(", "),
    before: u.capacity_bps_before, after: u.capacity_bps_after, cost: u.cost }));
  const check = after ? `<p class="hint" id="cap-check">normal operation after the plan (what-if on the plan): ${pct(after.max_utilisation_after)}</p>` : "";
  const fail = d.worst_utilisation_failure != null
    ? `; worst single failure <b id="cap-worst-failure">${pct(d.worst_utilisation_failure)}</b> (${esc(d.worst_failure || "")})` : "";
  $("#cap-result").innerHTML = `<p class="verdict" id="cap-summary">cost <b id="cap-cost-total">${d.cost.toLocaleString("en-US", { maximumFractionDigits: 0 })}</b>,
      optimality gap <span id="cap-gap">${(100 * d.gap).toFixed(2)} %</span>, LP bound ${d.lp_bound.toLocaleString("en-US", { maximumFractionDigits: 0 })}</p>
    <p>worst utilisation normally <b id="cap-worst-normal">${pct(d.worst_utilisation_normal)}</b>${fail}</p>${check}
    <p class="hint">${d.upgrades.length} link(s) upgraded, ${d.iterations} MILP solve(s) in ${d.seconds.toFixed(1)} s; planned traffic.</p>
    <div id="cap-upgrades">${table(rows, [["link", "link"], ["modules", "modules"], ["before", "before", bps, 1],
      ["after", "after", bps, 1], ["cost", "cost", (c) => c.toLocaleString("en-US"), 1]], "cap-upgrades-table", { name: "capacity-upgrades" })}</div>`;
}

function showCapacity() {
  if (!cap.plan) return;
  const label = "capacity plan (what-if on plan)";
  showResult("optimise", label);
  paint(cap.after, cap.up, {}, label);
  const upgraded = new Set(cap.plan.upgrades.map((u) => u.link));
  $$("line.arc").forEach((l) => l.classList.toggle("optimised", upgraded.has(l.dataset.link)));
}

async function cancelCapacity() {
  if (cap.job) await api(`${API}/jobs/${cap.job}`, { method: "DELETE" }).catch(() => null);
}

window.addEventListener("DOMContentLoaded", () => {
  if (!$("#cap-panel")) return;
  capacityControls();
  $("#cap-run").addEventListener("click", runCapacity);
  $("#cap-cancel").addEventListener("click", cancelCapacity);
});
