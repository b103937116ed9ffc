// nettwin dashboard: the side panels (element, search, alarms, what-if, N-1, storm,
// history, per-class QoS). Loaded after map.js.
"use strict";

// ---------------------------------------------------------------- element panel
function onLinkClick(lid) {
  if (!$("#panel-whatif").hidden) {
    if (ui.failLinks.has(lid)) ui.failLinks.delete(lid); else ui.failLinks.add(lid);
    $("#whatif-links").textContent = [...ui.failLinks].join(", ") || "none";
    whatifInputsChanged();
    markPicked();
    return;
  }
  showElement("link", lid);
}

// A time axis, a legend, a y scale fitted to the data (with the 80 % alarm line when near).
function sparkline(times, series) {
  const names = Object.keys(series);
  const n = Math.max(0, ...names.map((k) => series[k].length));
  if (!n) return '<p class="hint">No live samples yet.</p>';
  const vals = names.flatMap((k) => series[k]).filter((v) => isFinite(v));
  const top = Math.max(0.05, ...vals) * 1.1;
  const L = 38, R = 396, T = 6, B = 92;
  const t = times.map((x) => toDate(x).getTime());
  const t0 = t[0], t1 = t[t.length - 1] > t0 ? t[t.length - 1] : t0 + 1;
  const X = (i) => L + ((t[i] - t0) / (t1 - t0)) * (R - L);
  const Y = (u) => B - (u / top) * (B - T);
  const colours = ["#2a6ad0", "#d36b00", "#2e9d4b", "#8a2be2"];
  const paths = names.map((k, j) => {
    const pts = series[k].map((u, i) => `${X(i).toFixed(1)},${Y(u).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${colours[j % 4]}" stroke-width="1.5" points="${pts}"/>`;
  }).join("");
  const ticks = [0, top / 2, top].map((u) => `<line x1="${L}" x2="${R}" y1="${Y(u)}" y2="${Y(u)}" stroke="#e3e6ea"/><text x="${L - 3}" y="${Y(u) + 3}" text-anchor="end">${(100 * u).toFixed(0)}%</text>`).join("");
  const alarm = top > 0.8 ? `<line x1="${L}" x2="${R}" y1="${Y(0.8)}" y2="${Y(0.8)}" stroke="#f07f13" stroke-dasharray="4 3"/>` : "";
  const tl = [0, Math.floor((n - 1) / 2), n - 1].map((i, j) => `<text x="${X(i)}" y="${B + 12}" text-anchor="${["start", "middle", "end"][j]}">${esc(clock(times[i]).slice(-8))}</text>`).join("");
  const legend = names.map((k, j) => `<span style="color:${colours[j % 4]}">■ ${esc(direction(k))}</span>`).join(" ");
  return `<svg class="spark" viewBox="0 0 400 106" preserveAspectRatio="none">${ticks}${alarm}${paths}${tl}</svg>
    <div>${legend} <span class="hint">(${n} samples, ${duration((t1 - t0) / 1000)}; dashed: 80 % alarm)</span></div>`;
}

function arcRows(d) {
  const live = {}, plan = {};
  if (ui.live) for (const a of ui.live.arcs) live[a.arc] = a;
  for (const a of d.arcs) plan[a.arc] = a;
  return d.arcs.map((a) => {
    const lv = live[a.arc];
    const mapU = ui.view ? ui.view.util[a.arc] : null, mapUp = ui.view ? ui.view.up[a.arc] !== false : true;
    return {
      arc: a.arc, direction: direction(a.arc),
      map: mapUp ? mapU : null, map_up: mapUp,
      live_utilisation: lv ? (lv.up ? lv.utilisation : null) : null, live_up: lv ? lv.up : null,
      plan_utilisation: a.up ? a.utilisation : null, plan_up: a.up,
      plan_load_bps: a.load_bps, capacity_bps: a.capacity_bps, plan_delay_s: a.delay_s,
    };
  });
}
const upOr = (key) => (v, r) => (r[key] === false ? "down" : r[key] == null ? "—" : pct(v));

function elementLoadTable(d) {
  const shown = ui.mode === "base" ? (basisLabel() === "live" ? "live" : "plan") : "map";
  const cols = [["direction", "direction"]];
  if (ui.mode !== "base") cols.push([`map (${ui.view ? ui.view.what : ""})`, "map", upOr("map_up"), 1, "shown"]);
  cols.push(["live", "live_utilisation", upOr("live_up"), 1, shown === "live" ? "shown" : ""],
    ["plan", "plan_utilisation", upOr("plan_up"), 1, shown === "plan" ? "shown" : ""],
    ["plan load", "plan_load_bps", bps, 1], ["capacity", "capacity_bps", bps, 1], ["plan delay", "plan_delay_s", ms, 1]);
  return table(arcRows(d), cols, "element-load", { name: `${d.kind}-${d.id}-load` });
}
function refreshElementColumns() {
  if (!ui.element) return;
  const box = $("#element-load-box");
  if (box) box.innerHTML = elementLoadTable(ui.element);
}

async function showElement(kind, id) {
  tab("element");
  ui.selected = { kind, id };
  markSelected();
  $("#element-hint").hidden = true;
  const box = $("#element");
  box.innerHTML = "loading…";
  const nid = ui.nid;
  try {
    const d = await api(`${API}/networks/${nid}/elements/${kind}/${encodeURIComponent(id)}`);
    if (ui.nid !== nid || !ui.selected || ui.selected.id !== id) return;
    ui.element = d;
    const name = kind === "node" ? nodeName(id) : id;
    const r = d.radio;
    const liveMode = r ? (ui.live && ui.live.link_modes && ui.live.link_modes[id]) || r.live_mode : null;
    const attrs = Object.assign({}, d.attributes);
    const radioAttrs = r && attrs.radio ? attrs.radio : null;
    if (radioAttrs) delete attrs.radio;
    const radio = r ? `<h4>Radio</h4><dl class="attrs" id="element-radio">
        <dt>hop</dt><dd>${r.frequency_ghz} GHz, ${r.length_km.toFixed(2)} km</dd>
        <dt>modulation live</dt><dd id="element-mode">${esc(liveMode || "— (no telemetry)")}</dd>
        <dt>modulation on map</dt><dd>${esc((ui.view && ui.view.modes[id]) || r.clear_sky_mode)}</dd>
        <dt>clear sky</dt><dd>${esc(r.clear_sky_mode)}</dd><dt>ladder</dt><dd>${esc(r.modes.join(" → "))}</dd></dl>${radioAttrs ? attrList(radioAttrs) : ""}` : "";
    const svc = d.services.length ? table(d.services, [["service", "name"], ["worst delay (plan)", "worst_delay_s", ms, 1],
      ["target", "max_delay_s", ms, 1], ["SLA", "violated", (v) => (v ? "violated" : "ok")]], "element-services-table", { name: `${kind}-${id}-services` })
      : '<p class="hint">none</p>';
    const alarms = d.alarms.length ? table(d.alarms, [["severity", "perceivedSeverity", (v) => `<span class="sev-${esc(v)}">${esc(v)}</span>`],
      ["problem", "specificProblem"], ["raised", "alarmRaisedTime", clock], ["state", "state"], ["ack", "ackState"]], "element-alarms-table", { name: `${kind}-${id}-alarms` })
      : '<p class="hint">none</p>';
    box.innerHTML = `<h3 id="element-title">${esc(kind)} ${esc(name)}</h3>
      ${attrList(attrs, "element-attrs")}${radio}
      <h4>Load: live and planned</h4><div id="element-load-box">${elementLoadTable(d)}</div>
      <h4>Services using it (${d.services.length})</h4><div id="element-services">${svc}</div>
      <h4>Utilisation history</h4><div id="element-history">${sparkline(d.history.times, d.history.series)}</div>
      <h4>Alarms (${d.alarms.length})</h4><div id="element-alarms">${alarms}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

function showService(sid) {
  tab("element");
  ui.selected = { kind: "service", id: sid };
  ui.element = null;
  markSelected();
  $("#element-hint").hidden = true;
  const s = ui.topo.services.find((x) => x.id === sid);
  const mine = ui.alarms.filter((a) => a.alarmedObject.id === sid);
  $("#element").innerHTML = `<h3 id="element-title">service ${esc(s.name)}</h3>
    <dl class="attrs"><dt>id</dt><dd>${esc(s.id)}</dd><dt>demands</dt><dd>${s.demands}</dd>
    <dt>delay target</dt><dd>${ms(s.max_delay_s)}</dd></dl>
    <h4>Alarms (${mine.length})</h4>${mine.length ? table(mine, [["severity", "perceivedSeverity"], ["problem", "specificProblem"],
      ["raised", "alarmRaisedTime", clock], ["state", "state"]], "service-alarms", { name: `service-${sid}-alarms` }) : '<p class="hint">none</p>'}
    <p class="hint">Run a what-if to see its worst delay under a change.</p>`;
}

// ---------------------------------------------------------------- search
function fillSearch() {
  const t = ui.topo;
  const opts = [
    ...t.nodes.map((n) => `node: ${n.name}`), ...t.links.map((l) => `link: ${l.id}`),
    ...t.services.map((s) => `service: ${s.name}`),
  ];
  $("#search-list").innerHTML = opts.map((o) => `<option value="${esc(o)}">`).join("");
}
function runSearch(text) {
  const t = ui.topo;
  if (!t || !text) return;
  const q = text.replace(/^(node|link|service): /, "").trim().toLowerCase();
  const node = t.nodes.find((n) => n.name.toLowerCase() === q || n.id.toLowerCase() === q)
    || (!text.startsWith("link:") && !text.startsWith("service:") ? t.nodes.find((n) => n.name.toLowerCase().includes(q)) : null);
  const link = t.links.find((l) => l.id.toLowerCase() === q) || t.links.find((l) => l.id.toLowerCase().includes(q));
  const svc = t.services.find((s) => s.name.toLowerCase() === q || s.id.toLowerCase() === q) || t.services.find((s) => s.name.toLowerCase().includes(q));
  if (text.startsWith("service:") && svc) return showService(svc.id);
  if (text.startsWith("link:") && link) { focusLink(link); return showElement("link", link.id); }
  if (node) { centreOn(...ui.pos[node.id]); return showElement("node", node.id); }
  if (link) { focusLink(link); return showElement("link", link.id); }
  if (svc) return showService(svc.id);
  $("#element").innerHTML = `<p class="error">nothing called “${esc(text)}” in ${esc(t.name)}</p>`;
  tab("element");
}
function focusLink(lk) {
  const [x1, y1] = ui.pos[lk.a], [x2, y2] = ui.pos[lk.b];
  centreOn((x1 + x2) / 2, (y1 + y2) / 2);
}

// ---------------------------------------------------------------- alarms
const SEV = { critical: 0, major: 1, minor: 2, warning: 3, indeterminate: 4, cleared: 5 };

// One row per link and alarm type (both directions of a link fold into one), with what
// else is going on that may explain it.
function groupAlarms(list) {
  const groups = new Map();
  for (const a of list) {
    const obj = a.alarmedObject.id;
    const link = ui.arcLink[obj] || (ui.topo && ui.topo.links.some((l) => l.id === obj) ? obj : null);
    const key = `${link || obj}|${a.alarmType}|${a.state === "cleared" ? "c" : "o"}`;
    if (!groups.has(key)) groups.set(key, { key, link, object: link || obj, items: [] });
    groups.get(key).items.push(a);
  }
  const now = Date.now();
  return [...groups.values()].map((g) => {
    const items = g.items.sort((a, b) => SEV[a.perceivedSeverity] - SEV[b.perceivedSeverity]);
    const raised = Math.min(...items.map((a) => toDate(a.alarmRaisedTime).getTime()));
    const cleared = items.every((a) => a.state === "cleared") ? Math.max(...items.map((a) => toDate(a.alarmClearedTime || a.alarmChangedTime).getTime())) : null;
    const acked = items.every((a) => a.ackState === "acknowledged");
    const who = [...new Set(items.map((a) => a.ackUserId).filter(Boolean))].join(", ");
    const probs = items.map((a) => a.specificProblem);
    const util = probs.map((p) => (/^utilisation (.*)$/.exec(p) || [])[1]);
    const dirs = !(g.link && items.length > 1) ? null
      : probs.every((p) => p === probs[0]) ? `${probs[0]} ⇄`
        : util.every(Boolean) ? `utilisation ${util.join(" / ")} ⇄`
          : items.map((a) => `${a.specificProblem} ${arrow(a.alarmedObject.id)}`).join(", ");
    const full = items.map((a) => `${direction(a.alarmedObject.id)}: ${a.specificProblem}`).join("; ");
    return {
      id: items[0].id, ids: items.map((a) => a.id), severity: items[0].perceivedSeverity,
      object: g.object, link: g.link, type: items[0].alarmType,
      problem: dirs || (g.link && g.link !== items[0].alarmedObject.id ? `${direction(items[0].alarmedObject.id)}: ${items[0].specificProblem}` : items[0].specificProblem),
      raised: raised / 1000, duration: ((cleared || now) - raised) / 1000,
      state: cleared ? "cleared" : items.some((a) => a.state === "updated") ? "updated" : "raised",
      ack: acked ? `acknowledged${who ? " by " + who : ""}` : "unacknowledged", acked,
      hint: correlate(g, items), detail: full,
    };
  });
}
function correlate(g, items) {
  const hints = [];
  const lk = g.link && ui.topo.links.find((l) => l.id === g.link);
  const liveMode = lk && ui.live && ui.live.link_modes ? ui.live.link_modes[lk.id] : null;
  if (lk && lk.modulation && liveMode && liveMode !== lk.modulation) hints.push(`rain fade: ${liveMode} (clear sky ${lk.modulation})`);
  const stormMode = lk && ui.mode === "storm" && ui.view ? ui.view.modes[lk.id] : null;
  if (stormMode && lk.modulation && stormMode !== lk.modulation) hints.push(`under the rain cell: ${stormMode} (${ui.view.what})`);
  const down = ui.live ? [...new Set(ui.live.arcs.filter((a) => !a.up).map((a) => linkOfArc(a.arc)))] : [];
  if (items[0].alarmType === "QualityOfServiceAlarm" && down.length && !(lk && down.includes(lk.id))) {
    hints.push(`rerouted traffic? link${down.length > 1 ? "s" : ""} down: ${down.slice(0, 3).join(", ")}${down.length > 3 ? "…" : ""}`);
  }
  return hints.join("; ");
}

async function loadAlarms() {
  if (!ui.nid) return;
  try {
    const all = await api(`${ALARMS}/alarm?limit=10000`);
    ui.alarms = all.filter((a) => a.sourceSystemId === `nettwin/${ui.nid}`);
    renderAlarms();
  } catch (e) {
    $("#alarms-error").textContent = e.message;
  }
}
function renderAlarms() {
  const groups = groupAlarms(ui.alarms);
  const open = groups.filter((g) => g.state !== "cleared");
  $("#alarm-count").textContent = open.length ? `(${open.length})` : "";
  let rows = $("#alarms-cleared").checked ? groups : open;
  const sev = $("#alarms-severity").value, q = $("#alarms-search").value.trim().toLowerCase();
  if (sev) rows = rows.filter((g) => g.severity === sev);
  if (q) rows = rows.filter((g) => `${g.object} ${g.problem} ${g.type} ${g.hint} ${g.state} ${g.ack}`.toLowerCase().includes(q));
  const { key, dir } = ui.alarmSort;
  const val = (g) => (key === "severity" ? SEV[g.severity] : g[key]);
  rows.sort((a, b) => {
    const x = val(a), y = val(b);
    return (typeof x === "number" ? x - y : textCmp(x, y)) * dir
      || SEV[a.severity] - SEV[b.severity];
  });
  const th = (k, t) => `<th class="sortable" data-asort="${k}">${t}${key === k ? (dir > 0 ? " ▲" : " ▼") : ""}</th>`;
  ui.tables["alarms-table"] = {
    name: "alarms", rows, cols: [["severity", "severity"], ["object", "object"], ["type", "type"], ["problem", "problem"],
      ["raised", "raised"], ["duration_s", "duration"], ["state", "state"], ["ack", "ack"], ["hint", "hint"], ["alarm_ids", "ids"]],
  };
  $("#alarms-box").innerHTML = `<div class="tbl"><div class="tools"><span class="hint">${rows.length} of ${groups.length} (one row per link)</span>
    <button class="csv" data-csv="alarms-table">CSV</button></div><table id="alarms-table"><thead><tr>
    ${th("severity", "severity")}${th("object", "object")}${th("problem", "problem")}${th("raised", "raised")}${th("duration", "for")}${th("state", "state")}<th></th></tr></thead><tbody>
    ${rows.map((g) => `<tr data-alarm="${esc(g.id)}" data-alarms="${esc(g.ids.join(" "))}">
      <td class="sev-${esc(g.severity)}">${esc(g.severity)}</td>
      <td><a href="#" class="goto" data-object="${esc(g.link || g.object)}">${esc(g.object)}</a></td>
      <td title="${esc(g.detail)}">${esc(g.problem)}${g.hint ? `<div class="corr">${esc(g.hint)}</div>` : ""}</td>
      <td title="${esc(new Date(g.raised * 1000).toISOString())}">${esc(clock(g.raised))}</td>
      <td class="num">${esc(duration(g.duration))}</td>
      <td>${esc(g.state)}<div class="hint">${esc(g.acked ? g.ack : "not acked")}</div></td>
      <td class="actions">${g.acked ? "" : '<button class="ack" title="acknowledge every alarm of this row">ack</button>'}${g.state !== "cleared" ? '<button class="clear" title="clear every alarm of this row">clear</button>' : ""}</td></tr>`).join("")}
    </tbody></table></div>`;
}

async function patchAlarms(ids, body) {
  $("#alarms-error").textContent = "";
  try {
    for (const id of ids) await api(`${ALARMS}/alarm/${id}`, { method: "PATCH", body: Object.assign({}, body) });
  } catch (e) {
    $("#alarms-error").textContent = e.message;
  }
  loadAlarms();
}

// ---------------------------------------------------------------- what-if
function whatifChanges() {
  const changes = [...ui.failLinks].map((l) => ({ fail_link: l }));
  if ($("#whatif-node").value) changes.push({ fail_node: $("#whatif-node").value });
  if ($("#whatif-drain").value) changes.push({ drain_node: $("#whatif-drain").value });
  const scale = parseFloat($("#whatif-scale").value);
  if (isFinite(scale) && scale !== 1) changes.push({ scale_traffic: { factor: scale } });
  const src = $("#surge-src").value, dst = $("#surge-dst").value, gbps = parseFloat($("#surge-gbps").value);
  if (src && dst && gbps > 0) changes.push({ surge: { sources: [src], target: dst, rate_bps: gbps * 1e9 } });
  if (ui.extraChanges) changes.push(...ui.extraChanges.changes);  // "apply as what-if" (optimise.js)
  return changes;
}
function whatifInputsChanged() {
  if ($("#whatif-result").innerHTML) {
    $("#whatif-result").innerHTML = '<p class="hint" id="whatif-stale">Inputs changed: run the what-if again.</p>';
    if (ui.mode === "whatif") paintBase();
  }
}
// The toggle's "live" is the API's "auto": the live state when the twin has measured traffic,
// otherwise the plan, with a note saying so (an explicit "live" would be refused, 409).
function wireBasis(b) { return b === "live" ? "auto" : "plan"; }
function basisNote(b) {
  return b ? `<p class="basis-note" id="basis-note">computed on: ${esc(b.note)}${b.measured_at ? ` (measured ${esc(clock(b.measured_at))})` : ""}</p>` : "";
}

async function runWhatif() {
  const box = $("#whatif-result");
  const changes = whatifChanges();
  if (!changes.length) { box.innerHTML = '<p class="error">Pick a failure, a surge or a traffic factor first.</p>'; return; }
  box.innerHTML = "running…";
  const gen = ui.generation, basis = ui.basis;
  try {
    const [d, base] = await Promise.all([
      api(`${API}/networks/${ui.nid}/whatif?limit=100000`, { method: "POST", body: { name: "dashboard what-if", changes, basis: wireBasis(basis) } }),
      api(`${API}/networks/${ui.nid}/basis?kind=${wireBasis(basis)}`),
    ]);
    if (gen !== ui.generation) return;
    // One basis for the whole map: its own 'before', overwritten where the what-if changed.
    const util = {}, up = {};
    for (const a of base.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    for (const c of d.arc_changes) {
      util[c.arc] = c.utilisation_after;
      up[c.arc] = c.utilisation_after != null;
    }
    for (const lk of ui.topo.links) if (ui.failLinks.has(lk.id)) for (const a of lk.arcs) up[a] = false;
    showResult("whatif", `what-if on ${d.basis.kind}`);
    paint(util, up, {}, `what-if on ${d.basis.kind}`);
    const bad = d.services_newly_violated.length || d.lost_bps > 0 || d.max_utilisation_after >= 1;
    const changed = d.arc_changes.filter((c) => c.utilisation_after != null && c.utilisation_before != null)
      .map((c) => Object.assign({ delta: c.utilisation_after - c.utilisation_before, direction: direction(c.arc), link: linkOfArc(c.arc) }, c))
      .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
    const svcs = d.services.filter((s) => s.violated_after || s.violated_before || s.worst_delay_after_s !== s.worst_delay_before_s)
      .map((s) => Object.assign({ name: (ui.topo.services.find((x) => x.id === s.service) || {}).name || s.service }, s));
    box.innerHTML = `<p class="verdict${bad ? " bad" : ""}" id="whatif-verdict">${esc(d.verdict)}</p>${basisNote(d.basis)}
      <p>max utilisation ${pct(d.max_utilisation_before)} → ${pct(d.max_utilisation_after)}
         ${d.max_utilisation_arc ? "on " + esc(direction(d.max_utilisation_arc)) : ""}; ${d.demands_rerouted} demands rerouted,
         ${d.demands_lost_count} lost (${bps(d.lost_bps)})</p>
      <h4>Services</h4>${table(svcs, [["service", "name"], ["before", "worst_delay_before_s", ms, 1], ["after", "worst_delay_after_s", ms, 1],
        ["SLA", "violated_after", (v) => (v ? "violated" : "ok")]], "whatif-services", { name: "whatif-services" })}
      <h4>Changes (${d.arcs_changed} arcs)</h4>
      <div id="whatif-table">${table(changed, [["link", "link"], ["direction", "direction"], ["before", "utilisation_before", pct, 1],
        ["after", "utilisation_after", pct, 1], ["Δ", "delta", (v) => `${v > 0 ? "+" : ""}${(100 * v).toFixed(1)}`, 1]], "whatif-arcs", { name: "whatif-arcs" })}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- N-1
async function runN1() {
  const box = $("#n1-result"), bar = $("#n1-progress"), status = $("#n1-status");
  box.innerHTML = ""; bar.hidden = false; bar.value = 0;
  const gen = ui.generation, basis = ui.basis, nid = ui.nid;
  if (ui.warm && ui.warm.state === "warming") status.textContent = "kernels still warming up: the sweep waits for them…";
  try {
    const [job, base] = await Promise.all([
      api(`${API}/networks/${nid}/sweeps`, { method: "POST", body: { links: true, nodes: $("#n1-nodes").checked, basis: wireBasis(basis) } }),
      api(`${API}/networks/${nid}/basis?kind=${wireBasis(basis)}`),
    ]);
    ui.n1Job = job.id;
    let st = job;
    while (st.state === "queued" || st.state === "running") {
      await new Promise((r) => setTimeout(r, 400));
      if (gen !== ui.generation) return;
      st = await api(`${API}/jobs/${job.id}`);
      if (st.total) { bar.value = st.done / st.total; status.textContent = `${st.done} / ${st.total} failures`; }
    }
    if (gen !== ui.generation) return;
    if (st.state !== "done") throw new ApiError(`sweep ${st.state}: ${st.error || ""}`);
    bar.value = 1; status.textContent = "";
    const worst = (await api(`${API}/jobs/${job.id}/results?table=worst_case&limit=10000`)).items;
    const fails = (await api(`${API}/jobs/${job.id}/results?table=failures&limit=10000`)).items;
    if (gen !== ui.generation) return;
    const util = {}, up = {};
    for (const a of base.arcs) up[a.arc] = a.up;
    for (const w of worst) util[w.arc] = w.worst_utilisation;
    showResult("n1", `N-1 worst case on ${job.basis.kind}`);
    paint(util, up, {}, `N-1 worst case on ${job.basis.kind}`);
    for (const w of worst) { w.direction = direction(w.arc); w.link = linkOfArc(w.arc); }
    worst.sort((a, b) => b.worst_utilisation - a.worst_utilisation);
    box.innerHTML = `${basisNote(job.basis)}<h4>Most critical failures</h4><div id="n1-failures">${table(fails, [["#", "rank", null, 1], ["failure", "failure"],
        ["max util.", "max_utilisation", pct, 1], ["lost", "lost_bps", bps, 1], ["SLAs broken", "services_broken", (v) => esc((v || []).join(", ") || "—")]], "n1-failures-table", { name: "n1-failures" })}</div>
      <h4>Worst case per arc</h4><div id="n1-table">${table(worst, [["link", "link"], ["direction", "direction"], ["now", "baseline_utilisation", pct, 1],
        ["worst", "worst_utilisation", pct, 1], ["when", "worst_failure"]], "n1-worst-table", { name: "n1-worst-case" })}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  } finally {
    bar.hidden = true;
  }
}

// ---------------------------------------------------------------- storm
function paintFrame(k) {
  const f = ui.frames[k];
  const util = {}, up = {};
  ui.arcOrder.forEach((arc, a) => { util[arc] = f.utilisation[a]; up[arc] = f.up[a]; });
  paint(util, up, f.modes, `storm minute ${f.minute}`);
  setBadge(`storm · minute ${f.minute}`);
  const cells = $("#cells");
  cells.replaceChildren();
  for (const c of f.cells) {
    el("circle", { cx: px(c.x), cy: py(c.y), r: Math.max(4, c.r * (W - 2 * PAD)), class: "cell" }, cells);
  }
  const below = Object.entries(f.modes).filter(([lid, m]) => (ui.topo.links.find((l) => l.id === lid) || {}).modulation !== m).length;
  if (!$("#panel-alarms").hidden) renderAlarms();
  const s = $("#storm-frame");
  if (s) s.textContent = `minute ${f.minute}: ${below} link(s) below clear-sky modulation, max utilisation ${pct(f.max_utilisation)}`;
}

async function runStorm() {
  const box = $("#storm-result");
  box.innerHTML = "running…";
  const gen = ui.generation;
  const body = { name: "dashboard storm", duration_min: parseFloat($("#storm-duration").value) || 60, step_min: 2, cells: [] };
  if (!$("#storm-bundled").checked) {
    body.cells.push({
      latitude: parseFloat($("#storm-lat").value), longitude: parseFloat($("#storm-lon").value),
      peak_mm_h: parseFloat($("#storm-peak").value), radius_km: parseFloat($("#storm-radius").value),
      speed_kmh: parseFloat($("#storm-speed").value) || 0, heading_deg: parseFloat($("#storm-heading").value) || 0,
    });
  }
  try {
    const d = await api(`${API}/networks/${ui.nid}/storm`, { method: "POST", body });
    if (gen !== ui.generation) return;
    ui.frames = d.frames;
    const worstK = Math.max(0, d.frames.findIndex((f) => f.minute === d.worst_minute));
    showResult("storm", `storm · minute ${d.worst_minute}`);
    paintFrame(worstK);
    showTimebar("storm minute", d.frames.length, worstK, paintFrame, (k) => `minute ${d.frames[k].minute} of ${d.frames[d.frames.length - 1].minute}`);
    const s = d.summary;
    const hit = d.links.filter((l) => l.mode !== l.clear_sky_mode).sort((a, b) => b.fade_db - a.fade_db);
    const svcs = Object.entries(s.services).map(([k, v]) => Object.assign({ service: (ui.topo.services.find((x) => x.id === k) || {}).name || k }, v));
    box.innerHTML = `<p class="verdict${s.links_ever_down ? " bad" : ""}" id="storm-verdict">worst rain fade ${s.max_rain_fade_db.toFixed(1)} dB;
      ${s.links_ever_down} link(s) went down; radio capacity fell to ${pct(s.min_capacity_fraction)};
      peak utilisation ${pct(s.peak_max_utilisation)}</p>
      <p class="hint" id="storm-frame"></p>
      <h4>At the worst minute (${d.worst_minute}): ${hit.length} link(s) below clear-sky modulation</h4>
      <div id="storm-table">${table(hit, [["link", "link"], ["mode", "mode"], ["clear sky", "clear_sky_mode"],
        ["fade", "fade_db", (v) => `${v.toFixed(1)} dB`, 1], ["capacity", "capacity_bps", bps, 1], ["down", "minutes_down", (v) => `${v} min`, 1]], "storm-links", { name: "storm-links" })}</div>
      <h4>Services</h4>${table(svcs, [["service", "service"], ["violated", "minutes_violated", (v) => `${v} min`, 1], ["worst delay", "worst_delay_s", ms, 1]], "storm-services", { name: "storm-services" })}`;
    paintFrame(worstK);
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- history (time travel)
const HISTORY_STEPS = 121, HISTORY_SPAN_S = 3600;
function historyAt(k) { return ui.historyNow - (HISTORY_STEPS - 1 - k) * (HISTORY_SPAN_S / (HISTORY_STEPS - 1)); }
function openHistory() {
  ui.historyNow = Date.now() / 1000;
  showResult("history", "history");
  showTimebar("time travel", HISTORY_STEPS, HISTORY_STEPS - 1, (k) => {
    clearTimeout(ui.historyTimer);
    ui.historyTimer = setTimeout(() => loadHistory(k), 150);
  }, (k) => `${clock(historyAt(k))} (${duration(ui.historyNow - historyAt(k))} ago)`);
  loadHistory(HISTORY_STEPS - 1);
}
async function loadHistory(k) {
  const at = historyAt(k), gen = ui.generation, box = $("#history-result");
  try {
    const d = await api(`${API}/networks/${ui.nid}/history?at=${at.toFixed(3)}`);
    if (gen !== ui.generation || ui.mode !== "history") return;
    const util = {}, up = {};
    const down = new Set(d.links_down);
    for (const a of d.arcs) util[a.arc] = a.rate_bps / ui.arcCap[a.arc];
    for (const arc of ui.arcOrder) up[arc] = !down.has(linkOfArc(arc));
    paint(util, up, d.modulation || {}, `history ${clock(at)}`);
    setBadge(`history · ${clock(at)}`);
    note(d.arcs.length ? "" : `No measurements recorded at ${clock(at)} (before the history starts, or no telemetry): nothing to show.`);
    box.innerHTML = `<p id="history-summary">${esc(clock(at))}: ${d.arcs.length} arcs measured, ${d.links_down.length} link(s) down, ${d.alarms.length} alarm(s) open</p>` +
      (d.alarms.length ? table(d.alarms, [["object", "object"], ["type", "type"], ["severity", "severity"]], "history-alarms", { name: "history-alarms" }) : "");
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- per-class QoS
function qosClasses() {
  const n = (ui.nets || []).find((x) => x.id === ui.nid);
  return n && n.traffic_classes && n.traffic_classes.length ? n.traffic_classes : ["best-effort"];
}
function fillQos() {
  const classes = qosClasses();
  $("#qos-classes").innerHTML = `<table><thead><tr><th>class (served first at the top)</th><th>WFQ/DRR weight</th></tr></thead><tbody>
    ${classes.map((c, i) => `<tr><td>${esc(c)}</td><td><input class="qos-weight" data-class="${esc(c)}" type="number" min="0.01" step="0.05" value="${(1 / classes.length).toFixed(2)}" aria-label="weight of ${esc(c)}"></td></tr>`).join("")}</tbody></table>`;
  $("#qos-result").innerHTML = "";
}
async function runQos() {
  const box = $("#qos-result");
  box.innerHTML = "running…";
  const gen = ui.generation;
  const classes = qosClasses();
  const weights = $$(".qos-weight").map((i) => parseFloat(i.value) || 0.01);
  const live = ui.basis === "live" && ui.live && ui.live.scale != null;
  const scale = live ? ui.live.scale : 1;
  try {
    const d = await api(`${API}/networks/${ui.nid}/qos?limit=20`, { method: "POST", body: {
      policy: { classes, default: { scheduler: $("#qos-scheduler").value, weights } }, scale } });
    if (gen !== ui.generation) return;
    const svcs = d.services.map((s) => Object.assign({ name: (ui.topo.services.find((x) => x.id === s.service) || {}).name || s.service }, s));
    box.innerHTML = `<p class="basis-note" id="qos-basis">computed on: ${live ? `live traffic level ${scale.toFixed(2)} × plan (measured ${esc(clock(ui.live.time))})` : "the planned traffic matrix"}</p>
      <h4>Per class</h4><div id="qos-class-table">${table(d.classes, [["class", "class"], ["offered", "offered_bps", bps, 1],
        ["mean delay", "mean_delay_s", ms, 1], ["p99 delay", "p99_delay_s", ms, 1], ["jitter", "mean_jitter_s", ms, 1], ["max loss", "max_loss", pct, 1]], "qos-classes-table", { name: "qos-classes" })}</div>
      <h4>Services (each on its own class)</h4>${table(svcs, [["service", "name"], ["worst delay", "worst_delay_s", ms, 1], ["worst loss", "worst_loss", pct, 1],
        ["SLA", "violated", (v) => (v ? "violated" : "ok")]], "qos-services", { name: "qos-services" })}
      <h4>Slowest demands</h4>${table(d.demands, [["demand", "demand"], ["class", "class"], ["delay", "delay_s", ms, 1], ["jitter", "jitter_s", ms, 1],
        ["loss", "loss", pct, 1]], "qos-demands", { name: "qos-demands" })}`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}
