// nettwin dashboard: the Energy section of the Optimise panel (issue 18; no extra tab: the tab
// bar must stay one line). Runs POST .../optimize/energy as a job over
// a day of hourly levels of the planned matrix (a diurnal profile the planner can edit),
// then shows the saving, a strip of links asleep per hour, and a time slider: each hour is
// painted on the map as the engine's what-if of that hour (its sleeping links failed, the
// plan's traffic scaled to the hour's level), sleeping links dashed.
// Loaded after panels.js; binds its own events (no inline handlers: strict CSP).
"use strict";

const energy = { job: null, result: null, profile: null, base: null, seq: 0 };

// lowest at 04:00, highest at 16:00, like the synthetic day of nettwin.gym.traffic
function energyProfile() {
  const text = $("#energy-profile").value.trim();
  if (text) {
    const levels = text.split(/[\s,]+/).map(Number);
    if (levels.length < 2 || levels.some((x) => !isFinite(x) || x < 0)) throw new ApiError("profile: give at least two levels >= 0, comma separated");
    return levels;
  }
  const trough = 0.35;
  return Array.from({ length: 24 }, (_, h) => +(trough + (1 - trough) * 0.5 * (1 - Math.cos(2 * Math.PI * (h - 4) / 24))).toFixed(3));
}

async function runEnergy() {
  const box = $("#energy-result"), bar = $("#energy-progress"), status = $("#energy-status");
  const gen = ui.generation, nid = ui.nid;
  box.innerHTML = ""; bar.hidden = false; bar.value = 0; energy.result = null;
  $("#energy-run").disabled = true; $("#energy-cancel").hidden = false;
  status.textContent = "planning…";
  try {
    const profile = energyProfile();
    const body = {
      profile, interval_s: 3600,
      max_utilisation: Math.max(0.01, parseFloat($("#energy-limit").value) || 0.8),
      survive: $("#energy-survive").checked ? "n-1" : "none",
      min_dwell: Math.max(1, parseInt($("#energy-dwell").value, 10) || 3),
    };
    const job = await api(`${API}/networks/${nid}/optimize/energy`, { method: "POST", body });
    energy.job = job.id;
    let st = job;
    while (st.state === "queued" || st.state === "running") {
      await new Promise((r) => setTimeout(r, 300));
      if (gen !== ui.generation) return;
      st = await api(`${API}/jobs/${job.id}`);
      if (st.total) { bar.value = st.done / st.total; status.textContent = `${Math.round(100 * st.done / st.total)} %`; }
    }
    if (st.state !== "done") throw new ApiError(`energy plan ${st.state}${st.error ? ": " + st.error : ""}`);
    const [res, base] = await Promise.all([api(`${API}/jobs/${job.id}/result`), api(`${API}/networks/${nid}/basis?kind=plan`)]);
    if (gen !== ui.generation) return;
    energy.result = res; energy.profile = profile; energy.base = base;
    box.dataset.job = job.id;
    status.textContent = "";
    renderEnergy();
    const deepest = res.document.intervals.reduce((b, r) => (r.asleep.length > b.asleep.length ? r : b));
    $("#energy-slider").value = String(deepest.t);
    await showHour(deepest.t);
  } catch (e) {
    status.textContent = "";
    box.innerHTML = `<p class="error" id="energy-error">${esc(e.message)}</p>`;
  } finally {
    bar.hidden = true; energy.job = null;
    $("#energy-run").disabled = false; $("#energy-cancel").hidden = true;
  }
}

function renderEnergy() {
  const d = energy.result.document, n = d.links.length;
  const strip = d.intervals.map((r) => `<span class="e-bar" data-hour="${r.t}" title="${esc(r.label)}: ${r.asleep.length} asleep"
      style="height:${Math.round(4 + 36 * r.asleep.length / Math.max(1, n))}px"></span>`).join("");
  const n1 = d.worst_failure_mlu != null ? `<p>worst single failure before the sleepers wake: ${pct(d.worst_failure_mlu)}</p>` : "";
  $("#energy-result").innerHTML = `<p class="verdict" id="energy-summary">link energy saved
      <b id="energy-saved">${pct(d.energy_saved_fraction)}</b> (${d.kwh_saved.toFixed(2)} of ${d.kwh_all_awake.toFixed(2)} kWh);
      SLA violations <span id="energy-sla">${d.sla_violations}</span>, links over the limit ${d.over_limit_arcs}</p>${n1}
    <p class="hint">${esc(d.traffic_series || "")}; max utilisation ${pct(d.mlu_max)} (all awake ${pct(d.mlu_all_awake_max)}).</p>
    <div class="e-strip" id="energy-strip" title="links asleep per hour (click an hour)">${strip}</div>
    <label>hour <input type="range" id="energy-slider" min="0" max="${d.intervals.length - 1}" step="1" value="0"></label>
    <span id="energy-hour"></span>
    <p id="energy-now"></p>`;
}

async function showHour(t) {
  const d = energy.result.document, row = d.intervals[t], seq = ++energy.seq, gen = ui.generation;
  $("#energy-hour").textContent = row.label;
  $$(".e-bar").forEach((b) => b.classList.toggle("on", +b.dataset.hour === t));
  const changes = row.asleep.map((lid) => ({ fail_link: lid }));
  changes.push({ scale_traffic: { factor: energy.profile[t] } });
  const w = await api(`${API}/networks/${ui.nid}/whatif?limit=100000`, { method: "POST", body: { name: `energy ${row.label}`, changes, basis: "plan" } });
  if (seq !== energy.seq || gen !== ui.generation) return;
  const util = {}, up = {};
  for (const a of energy.base.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
  for (const c of w.arc_changes) { util[c.arc] = c.utilisation_after; up[c.arc] = c.utilisation_after != null; }
  const asleep = new Set(row.asleep);
  for (const lk of ui.topo.links) if (asleep.has(lk.id)) for (const a of lk.arcs) up[a] = false;
  const label = `energy schedule · ${row.label}`;
  showResult("energy", label);
  paint(util, up, {}, label);
  $("#energy-now").innerHTML = `<span id="energy-count">${row.asleep.length}</span> link(s) asleep
    ${Object.keys(row.reduced).length ? `, ${Object.keys(row.reduced).length} reduced` : ""}: ${esc(row.asleep.join(", ") || "none")};
    max utilisation <b id="energy-mlu">${pct(row.mlu)}</b> (what-if <span id="energy-whatif-mlu">${pct(w.max_utilisation_after)}</span>)`;
  $("#energy-now").dataset.hour = String(t);
}

async function cancelEnergy() {
  if (energy.job) await api(`${API}/jobs/${energy.job}`, { method: "DELETE" }).catch(() => null);
}

window.addEventListener("DOMContentLoaded", () => {
  $("#energy-run").addEventListener("click", runEnergy);
  $("#energy-cancel").addEventListener("click", cancelEnergy);
  $("#energy-result").addEventListener("input", (ev) => {
    if (ev.target.id === "energy-slider") showHour(+ev.target.value).catch((e) => { $("#energy-now").textContent = e.message; });
  });
  $("#energy-result").addEventListener("click", (ev) => {
    const bar = ev.target.closest(".e-bar");
    if (!bar) return;
    $("#energy-slider").value = bar.dataset.hour;
    showHour(+bar.dataset.hour).catch((e) => { $("#energy-now").textContent = e.message; });
  });
});
