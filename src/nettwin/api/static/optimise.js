// nettwin dashboard: the Optimise panel (traffic engineering, issue 14). Runs
// POST .../optimize/weights as a job (progress bar from the job), then shows MLU before →
// after beside the multicommodity-flow lower bound, the changes in the order to apply them
// with the MLU after each step, and the before/after map: "after" is the what-if of the
// result's own what-if body, computed by the engine on the plan (the optimiser works on the
// planned traffic matrix), coloured like every what-if; changed links are highlighted.
// Loaded after panels.js; binds its own events (no inline handlers: strict CSP).
"use strict";

const opt = { job: null, result: null, before: null, after: null, showing: "after" };

function optimiseOptions() {
  const body = {
    objective: $("#opt-objective").value,
    survive: $("#opt-survive").checked ? "n-1" : "none",
    time_limit_s: Math.max(1, parseFloat($("#opt-time").value) || 10),
    seed: Math.max(0, parseInt($("#opt-seed").value, 10) || 0),
  };
  const k = parseInt($("#opt-changes").value, 10);
  if (isFinite(k) && k > 0) body.max_changes = k;
  return body;
}

async function runOptimise() {
  const box = $("#opt-result"), bar = $("#opt-progress"), status = $("#opt-status");
  const gen = ui.generation, nid = ui.nid;
  box.innerHTML = ""; bar.hidden = false; bar.value = 0; opt.result = null;
  $("#opt-run").disabled = true; $("#opt-cancel").hidden = false;
  status.textContent = "searching…";
  try {
    const job = await api(`${API}/networks/${nid}/optimize/weights`, { method: "POST", body: optimiseOptions() });
    opt.job = job.id;
    let st = job;
    while (st.state === "queued" || st.state === "running") {
      await new Promise((r) => setTimeout(r, 300));
      if (gen !== ui.generation) return;
      st = await api(`${API}/jobs/${job.id}`);
      if (st.total) { bar.value = st.done / st.total; status.textContent = `${Math.round(100 * st.done / st.total)} % of the time budget`; }
    }
    if (st.state !== "done") throw new ApiError(`optimisation ${st.state}${st.error ? ": " + st.error : ""}`);
    const res = await api(`${API}/jobs/${job.id}/result`);
    if (gen !== ui.generation) return;
    bar.value = 1;
    status.textContent = "re-simulating the result…";
    // the optimiser works on the plan: before = the plan, after = the result as a what-if
    const [base, after] = await Promise.all([
      api(`${API}/networks/${nid}/basis?kind=plan`),
      res.whatif.changes.length
        ? api(`${API}/networks/${nid}/whatif?limit=100000`, { method: "POST", body: Object.assign({}, res.whatif, { basis: "plan" }) })
        : Promise.resolve(null),
    ]);
    if (gen !== ui.generation) return;
    opt.result = res;
    $("#opt-result").dataset.job = job.id;
    opt.before = {}; opt.after = {};
    opt.up = {};
    for (const a of base.arcs) { opt.before[a.arc] = a.utilisation; opt.after[a.arc] = a.utilisation; opt.up[a.arc] = a.up; }
    if (after) for (const c of after.arc_changes) opt.after[c.arc] = c.utilisation_after;
    opt.whatif = after;
    status.textContent = "";
    renderOptimise();
    showOptimised("after");
  } catch (e) {
    status.textContent = "";
    box.innerHTML = `<p class="error" id="opt-error">${esc(e.message)}</p>`;
  } finally {
    bar.hidden = true; opt.job = null;
    $("#opt-run").disabled = false; $("#opt-cancel").hidden = true;
  }
}

function renderOptimise() {
  const d = opt.result.document;
  const steps = d.steps.map((s) => Object.assign({ change: s.metric_ab === s.metric_ba ? `${s.metric_ab}` : `${s.metric_ab} / ${s.metric_ba}` }, s));
  const before = Object.fromEntries(d.changed_links.map((c) => [c.link, c.metric_ab_before === c.metric_ba_before ? `${c.metric_ab_before}` : `${c.metric_ab_before} / ${c.metric_ba_before}`]));
  for (const s of steps) s.was = before[s.link];
  const w = opt.whatif;
  const check = w ? `<p class="hint" id="opt-check">applied as a what-if on the plan: ${pct(w.max_utilisation_before)} → ${pct(w.max_utilisation_after)}</p>` : "";
  const worst = d.worst_mlu != null ? `<p>worst single failure ${pct(d.worst_mlu_before)} → ${pct(d.worst_mlu)}${d.worst_failure ? " (" + esc(d.worst_failure) + ")" : ""}</p>` : "";
  $("#opt-result").innerHTML = `<p class="verdict" id="opt-summary">max utilisation
      <b id="opt-mlu-before">${pct(d.mlu_before)}</b> → <b id="opt-mlu-after">${pct(d.mlu)}</b>;
      lower bound <span id="opt-bound">${pct(d.mlu_lower_bound)}</span>, ratio <span id="opt-ratio">${d.ratio.toFixed(3)}</span></p>
    ${worst}${check}${transient(d)}
    <p class="hint">${d.changed_links.length} link(s) changed, ${d.evaluations} evaluations in ${d.seconds.toFixed(1)} s (${esc(d.stopped)}); planned traffic.</p>
    <div class="row"><span role="radiogroup" aria-label="map">map: <button id="opt-show-before" data-opt-show="before">before</button><button
      id="opt-show-after" data-opt-show="after">after</button></span>
      <button id="opt-apply" ${d.steps.length ? "" : "disabled"} title="run these metric changes in the What-if panel">apply as what-if</button></div>
    <h4>Changes, in the order to apply them</h4>
    <div id="opt-steps">${table(steps, [["#", "step", null, 1], ["link", "link"], ["metric was", "was"], ["metric", "change"],
      ["MLU after", "mlu", pct, 1]], "opt-steps-table", { name: "optimise-steps" })}</div>`;
}

// Applied one at a time, the changes may pass through a worse state than the start.
function transient(d) {
  const peak = d.steps.reduce((m, s) => (s.mlu > m.mlu ? s : m), { mlu: -Infinity });
  return peak.mlu > d.mlu_before + 1e-12
    ? `<p class="error" id="opt-transient">step ${peak.step} passes through ${pct(peak.mlu)}, above the start (${pct(d.mlu_before)}): apply these changes together, or in a quiet hour.</p>`
    : "";
}

function showOptimised(which) {
  if (!opt.result) return;
  opt.showing = which;
  const util = which === "before" ? opt.before : opt.after;
  const label = which === "before" ? "before optimisation (plan)" : "optimised metrics (what-if on plan)";
  showResult("optimise", label);
  paint(util, opt.up, {}, label);
  $$("[data-opt-show]").forEach((b) => b.classList.toggle("on", b.dataset.optShow === which));
  const changed = new Set(opt.result.document.changed_links.map((c) => c.link));
  $$("line.arc").forEach((l) => l.classList.toggle("optimised", changed.has(l.dataset.link)));
}

// "apply as what-if": the What-if panel runs the optimiser's changes (plus whatever it
// already has picked) through its own path, on its own basis.
function applyOptimised() {
  if (!opt.result) return;
  ui.extraChanges = { name: opt.result.whatif.name, changes: opt.result.whatif.changes.slice() };
  tab("whatif");
  $("#whatif-extra").hidden = false;
  const links = new Set(ui.extraChanges.changes.map((c) => c.set_metric.link));
  $("#whatif-extra").textContent = `plus the optimiser's metrics on ${links.size} link(s): ${[...links].join(", ")}`;
  runWhatif();
}

async function cancelOptimise() {
  if (opt.job) await api(`${API}/jobs/${opt.job}`, { method: "DELETE" }).catch(() => null);
}

window.addEventListener("DOMContentLoaded", () => {
  $("#opt-run").addEventListener("click", runOptimise);
  $("#opt-cancel").addEventListener("click", cancelOptimise);
  $("#opt-result").addEventListener("click", (ev) => {
    const show = ev.target.closest("[data-opt-show]");
    if (show) showOptimised(show.dataset.optShow);
    if (ev.target.id === "opt-apply") applyOptimised();
  });
});
