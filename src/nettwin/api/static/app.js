// nettwin dashboard: plain ES2020, no build step. Talks to the same app's REST API with the
// bearer token the user signs in with; live state arrives as Server-Sent Events read with
// fetch (EventSource cannot send an Authorization header).
"use strict";

const API = "/api/v1";
const ALARMS = "/tmf-api/alarmManagement/v4";
const W = 1000, H = 760, PAD = 40, PAD_RIGHT = 110;  // room for labels east of nodes
const $ = (sel) => document.querySelector(sel);

const ui = {
  token: null, nid: null, topo: null, mode: "live", live: null, liveModes: {},
  selected: null, failLinks: new Set(), stream: null, alarmTimer: null,
};

// ---------------------------------------------------------------- API
class ApiError extends Error {}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${ui.token}` }, options.headers || {});
  if (options.body && typeof options.body !== "string") {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) { signOut("token refused: sign in again"); throw new ApiError("unauthorised"); }
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    let msg = body && (body.detail || body.message) || res.statusText;
    if (Array.isArray(msg)) msg = msg.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    if (body && body.problems) msg += ": " + body.problems.map((p) => `${p.element} ${p.message} (${p.fix})`).join("; ");
    throw new ApiError(`${res.status}: ${msg}`);
  }
  return body;
}

// ---------------------------------------------------------------- formatting
const pct = (u) => (u == null || !isFinite(u) ? "—" : `${(100 * u).toFixed(1)} %`);
function si(v, unit) {
  if (v == null || !isFinite(v)) return "—";
  const p = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]].find(([f]) => Math.abs(v) >= f);
  return p ? `${(v / p[0]).toFixed(2)} ${p[1]}${unit}` : `${v.toFixed(0)} ${unit}`;
}
const ms = (s) => (s == null || !isFinite(s) ? "—" : `${(1e3 * s).toFixed(2)} ms`);
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function colour(u) {
  if (u == null || !isFinite(u)) return "#d61f1f";
  if (u >= 1) return "#d61f1f";
  if (u >= 0.8) return "#f07f13";
  if (u >= 0.5) return "#e3c400";
  return "#2e9d4b";
}
function table(rows, cols) {
  const head = cols.map((c) => `<th>${esc(c[0])}</th>`).join("");
  const body = rows.map((r) => "<tr>" + cols.map((c) => {
    const v = c[2] ? c[2](r[c[1]], r) : r[c[1]];
    return `<td${c[3] ? ' class="num"' : ""}>${v == null ? "—" : (c[2] ? v : esc(v))}</td>`;
  }).join("") + "</tr>").join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// ---------------------------------------------------------------- map
const svgNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
const px = (x) => PAD + x * (W - PAD - PAD_RIGHT);
const py = (y) => PAD + y * (H - 2 * PAD);

function drawTopology() {
  const t = ui.topo;
  const pos = Object.fromEntries(t.nodes.map((n) => [n.id, [px(n.x), py(n.y)]]));
  const links = $("#links"), nodes = $("#nodes");
  links.replaceChildren(); nodes.replaceChildren(); $("#cells").replaceChildren();
  for (const lk of t.links) {
    const [x1, y1] = pos[lk.a], [x2, y2] = pos[lk.b];
    const len = Math.hypot(x2 - x1, y2 - y1) || 1;
    const ox = (-(y2 - y1) / len) * 2.6, oy = ((x2 - x1) / len) * 2.6;  // right of a->b
    const g = el("g", { "data-link": lk.id }, links);
    el("line", { x1, y1, x2, y2, class: "hit", "data-link": lk.id }, g);
    lk.arcs.forEach((arc, j) => {
      const s = j === 0 ? 1 : -1;
      const line = el("line", {
        x1: x1 + s * ox, y1: y1 + s * oy, x2: x2 + s * ox, y2: y2 + s * oy,
        class: "arc" + (lk.kind === "microwave" ? " mw" : ""), "data-arc": arc, "data-link": lk.id,
      }, g);
      el("title", {}, line).textContent = arc;
    });
    if (lk.modulation) {
      const m = el("text", { x: (x1 + x2) / 2 + 3 * ox, y: (y1 + y2) / 2 + 3 * oy, class: "mod", "data-mod": lk.id }, links);
      m.textContent = lk.modulation;
    }
    g.addEventListener("click", () => onLinkClick(lk.id));
  }
  const r = t.nodes.length > 150 ? 2.5 : 6;
  for (const n of t.nodes) {
    const [x, y] = pos[n.id];
    const c = el("circle", { cx: x, cy: y, r, class: "node", "data-node": n.id }, nodes);
    el("title", {}, c).textContent = n.name;
    c.addEventListener("click", () => showElement("node", n.id));
    if (t.nodes.length <= 80) {
      el("text", { x: x + 8, y: y - 6, class: "label" }, nodes).textContent = n.name;
    }
  }
}

// utilisation per arc label -> colours; up per arc label (false: drawn down)
function paint(util, up, modes) {
  let max = 0;
  document.querySelectorAll("line.arc").forEach((line) => {
    const arc = line.dataset.arc;
    const u = util[arc];
    line.style.stroke = colour(u || 0);
    line.classList.toggle("down", up[arc] === false);
    if (up[arc] !== false && u > max) max = u;
    line.querySelector("title").textContent = `${arc}: ${pct(u)}${up[arc] === false ? " (down)" : ""}`;
  });
  for (const [lid, name] of Object.entries(modes || {})) {
    const m = document.querySelector(`text.mod[data-mod="${CSS.escape(lid)}"]`);
    if (m) m.textContent = name;
  }
  $("#max-util").textContent = `max utilisation ${pct(max)}`;
  document.querySelectorAll("line.arc.selected").forEach((l) => l.classList.remove("selected"));
  for (const lid of ui.failLinks) {
    document.querySelectorAll(`line.arc[data-link="${CSS.escape(lid)}"]`).forEach((l) => l.classList.add("selected"));
  }
}

function setMode(mode, label) {
  ui.mode = mode;
  $("#view-mode").textContent = label || mode;
  $("#back-live").hidden = mode === "live";
  if (mode === "live") { $("#cells").replaceChildren(); paintLive(); }
}

function paintLive() {
  if (!ui.live) { paint({}, {}, {}); return; }
  const util = {}, up = {};
  for (const a of ui.live.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
  paint(util, up, ui.live.link_modes);
}

// ---------------------------------------------------------------- live stream
async function openStream(nid) {
  if (ui.stream) ui.stream.abort();
  const ctrl = new AbortController();
  ui.stream = ctrl;
  try {
    const res = await fetch(`${API}/networks/${nid}/stream`, {
      headers: { Authorization: `Bearer ${ui.token}` }, signal: ctrl.signal,
    });
    if (!res.ok) throw new Error(res.statusText);
    $("#live-status").classList.add("on");
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
        const event = (chunk.match(/^event: (.*)$/m) || [])[1];
        const data = (chunk.match(/^data: (.*)$/m) || [])[1];
        if (event && data) onEvent(event, JSON.parse(data));
      }
    }
  } catch (e) {
    if (ctrl.signal.aborted) return;
  } finally {
    $("#live-status").classList.remove("on");
  }
  if (!ctrl.signal.aborted) setTimeout(() => ui.nid === nid && openStream(nid), 3000);
}

function onEvent(event, data) {
  if (event === "state" && data.network_id === ui.nid) {
    ui.live = data;
    if (ui.mode === "live") paintLive();
  } else if (event === "alarm") {
    clearTimeout(ui.alarmTimer);
    ui.alarmTimer = setTimeout(loadAlarms, 300);
  }
}

// ---------------------------------------------------------------- element panel
function onLinkClick(lid) {
  if (!$("#panel-whatif").hidden) {
    if (ui.failLinks.has(lid)) ui.failLinks.delete(lid); else ui.failLinks.add(lid);
    $("#whatif-links").textContent = [...ui.failLinks].join(", ") || "none";
    document.querySelectorAll(`line.arc[data-link="${CSS.escape(lid)}"]`).forEach((l) => l.classList.toggle("selected", ui.failLinks.has(lid)));
    return;
  }
  showElement("link", lid);
}

function sparkline(series) {
  const names = Object.keys(series);
  const n = Math.max(0, ...names.map((k) => series[k].length));
  if (!n) return '<p class="hint">No live samples yet.</p>';
  const maxU = Math.max(1, ...names.flatMap((k) => series[k]));
  const colours = ["#2a6ad0", "#d36b00"];
  const paths = names.map((k, j) => {
    const pts = series[k].map((u, i) => `${(i / Math.max(1, n - 1)) * 400},${70 - (u / maxU) * 66}`).join(" ");
    return `<polyline fill="none" stroke="${colours[j % 2]}" stroke-width="1.5" points="${pts}"/>`;
  }).join("");
  const legend = names.map((k, j) => `<span style="color:${colours[j % 2]}">■ ${esc(k)}</span>`).join(" ");
  return `<svg class="spark" viewBox="0 0 400 70" preserveAspectRatio="none">${paths}</svg><div>${legend} (last ${n} samples, top = ${pct(maxU)})</div>`;
}

async function showElement(kind, id) {
  tab("element");
  document.querySelectorAll("circle.node.selected").forEach((c) => c.classList.remove("selected"));
  if (kind === "node") document.querySelector(`circle.node[data-node="${CSS.escape(id)}"]`)?.classList.add("selected");
  ui.selected = { kind, id };
  $("#element-hint").hidden = true;
  const box = $("#element");
  box.innerHTML = "loading…";
  try {
    const d = await api(`${API}/networks/${ui.nid}/elements/${kind}/${encodeURIComponent(id)}`);
    const attrs = Object.entries(d.attributes).filter(([, v]) => v != null && !(Array.isArray(v) && !v.length))
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`).join("");
    const radio = d.radio ? `<h4>Radio</h4><table>
        <tr><th>frequency</th><td>${d.radio.frequency_ghz} GHz, ${d.radio.length_km.toFixed(2)} km</td></tr>
        <tr><th>profile</th><td>${esc(d.radio.profile)}</td></tr>
        <tr><th>modulation now</th><td id="element-mode">${esc(d.radio.live_mode || d.radio.clear_sky_mode)}</td></tr>
        <tr><th>clear sky</th><td>${esc(d.radio.clear_sky_mode)} (ladder ${esc(d.radio.modes.join(" → "))})</td></tr></table>` : "";
    box.innerHTML = `<h3 id="element-title">${esc(kind)} ${esc(id)}</h3>
      <table id="element-attrs">${attrs}</table>${radio}
      <h4>Load (baseline)</h4>${table(d.arcs, [["arc", "arc"], ["load", "load_bps", (v) => si(v, "bit/s"), 1],
        ["capacity", "capacity_bps", (v) => si(v, "bit/s"), 1], ["util.", "utilisation", pct, 1], ["delay", "delay_s", ms, 1]])}
      <h4>Services using it (${d.services.length})</h4>
      <div id="element-services">${d.services.length ? table(d.services, [["service", "name"],
        ["worst delay", "worst_delay_s", ms, 1], ["target", "max_delay_s", ms, 1], ["SLA", "violated", (v) => (v ? "violated" : "ok")]]) : '<p class="hint">none</p>'}</div>
      <h4>Utilisation history</h4><div id="element-history">${sparkline(d.history.series)}</div>
      <h4>Alarms (${d.alarms.length})</h4>
      <div id="element-alarms">${d.alarms.length ? table(d.alarms, [["severity", "perceivedSeverity"],
        ["problem", "specificProblem"], ["state", "state"], ["ack", "ackState"]]) : '<p class="hint">none</p>'}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- alarms
async function loadAlarms() {
  if (!ui.nid) return;
  try {
    const all = await api(`${ALARMS}/alarm?limit=10000`);
    const mine = all.filter((a) => a.sourceSystemId === `nettwin/${ui.nid}`);
    const open = mine.filter((a) => a.state !== "cleared");
    $("#alarm-count").textContent = open.length ? `(${open.length})` : "";
    const rows = $("#alarms-cleared").checked ? mine : open;
    rows.sort((a, b) => (a.perceivedSeverity === "critical" ? -1 : 0) - (b.perceivedSeverity === "critical" ? -1 : 0));
    $("#alarms-table tbody").innerHTML = rows.map((a) => `<tr data-alarm="${esc(a.id)}">
      <td class="sev-${esc(a.perceivedSeverity)}">${esc(a.perceivedSeverity)}</td>
      <td>${esc(a.alarmedObject.id)}</td><td>${esc(a.specificProblem)}</td>
      <td>${esc(a.state)}, ${esc(a.ackState)}${a.ackUserId ? " by " + esc(a.ackUserId) : ""}</td>
      <td>${a.ackState === "unacknowledged" ? '<button class="ack">ack</button>' : ""}
          ${a.state !== "cleared" ? '<button class="clear">clear</button>' : ""}</td></tr>`).join("");
  } catch (e) {
    $("#alarms-error").textContent = e.message;
  }
}

async function patchAlarm(id, body) {
  $("#alarms-error").textContent = "";
  try {
    await api(`${ALARMS}/alarm/${id}`, { method: "PATCH", body });
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
  return changes;
}

async function runWhatif() {
  const box = $("#whatif-result");
  const changes = whatifChanges();
  if (!changes.length) { box.innerHTML = '<p class="error">Pick a failure, a surge or a traffic factor first.</p>'; return; }
  box.innerHTML = "running…";
  try {
    const d = await api(`${API}/networks/${ui.nid}/whatif?limit=100000`, { method: "POST", body: { name: "dashboard what-if", changes, basis: "plan" } });
    const util = {}, up = {};
    for (const a of (ui.live ? ui.live.arcs : [])) { util[a.arc] = a.utilisation; }
    for (const c of d.arc_changes) {
      util[c.arc] = c.utilisation_after;
      if (c.utilisation_after == null) up[c.arc] = false;
    }
    for (const lk of ui.topo.links) if (ui.failLinks.has(lk.id)) for (const a of lk.arcs) up[a] = false;
    setMode("whatif", "what-if result");
    paint(util, up, {});
    const bad = d.services_newly_violated.length || d.lost_bps > 0 || d.max_utilisation_after >= 1;
    const changed = d.arc_changes.filter((c) => c.utilisation_after != null && c.utilisation_before != null)
      .map((c) => Object.assign({ delta: c.utilisation_after - c.utilisation_before }, c))
      .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta)).slice(0, 40);
    box.innerHTML = `<p class="verdict${bad ? " bad" : ""}" id="whatif-verdict">${esc(d.verdict)}</p>
      <p>max utilisation ${pct(d.max_utilisation_before)} → ${pct(d.max_utilisation_after)}
         (${esc(d.max_utilisation_arc || "")}); ${d.demands_rerouted} demands rerouted,
         ${d.demands_lost_count} lost (${si(d.lost_bps, "bit/s")})</p>
      <h4>Services</h4>${table(d.services.filter((s) => s.violated_after || s.violated_before || s.worst_delay_after_s !== s.worst_delay_before_s),
        [["service", "service"], ["before", "worst_delay_before_s", ms, 1], ["after", "worst_delay_after_s", ms, 1], ["SLA", "violated_after", (v) => (v ? "violated" : "ok")]])}
      <h4>Biggest changes (${d.arcs_changed} arcs)</h4>
      <div id="whatif-table">${table(changed, [["arc", "arc"], ["before", "utilisation_before", pct, 1], ["after", "utilisation_after", pct, 1], ["Δ", "delta", (v) => `${v > 0 ? "+" : ""}${(100 * v).toFixed(1)}`, 1]])}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- N-1
async function runN1() {
  const box = $("#n1-result"), bar = $("#n1-progress");
  box.innerHTML = ""; bar.hidden = false; bar.value = 0;
  try {
    const job = await api(`${API}/networks/${ui.nid}/sweeps`, { method: "POST", body: { links: true, nodes: $("#n1-nodes").checked, basis: "plan" } });
    let st = job;
    while (st.state === "queued" || st.state === "running") {
      await new Promise((r) => setTimeout(r, 400));
      st = await api(`${API}/jobs/${job.id}`);
      if (st.total) bar.value = st.done / st.total;
    }
    if (st.state !== "done") throw new ApiError(`sweep ${st.state}: ${st.error || ""}`);
    bar.value = 1;
    const worst = (await api(`${API}/jobs/${job.id}/results?table=worst_case&limit=10000`)).items;
    const fails = (await api(`${API}/jobs/${job.id}/results?table=failures&limit=15`)).items;
    const util = {};
    for (const w of worst) util[w.arc] = w.worst_utilisation;
    setMode("n1", "N-1 worst case");
    paint(util, {}, {});
    worst.sort((a, b) => b.worst_utilisation - a.worst_utilisation);
    box.innerHTML = `<h4>Most critical failures</h4><div id="n1-failures">${table(fails, [["#", "rank"], ["failure", "failure"],
        ["max util.", "max_utilisation", pct, 1], ["lost", "lost_bps", (v) => si(v, "bit/s"), 1], ["SLAs broken", "services_broken", (v) => esc((v || []).join(", ") || "—")]])}</div>
      <h4>Worst case per arc</h4><div id="n1-table">${table(worst.slice(0, 30), [["arc", "arc"], ["baseline", "baseline_utilisation", pct, 1],
        ["worst", "worst_utilisation", pct, 1], ["when", "worst_failure"]])}</div>`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  } finally {
    bar.hidden = true;
  }
}

// ---------------------------------------------------------------- storm
async function runStorm() {
  const box = $("#storm-result");
  box.innerHTML = "running…";
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
    const util = {}, up = {}, modes = {};
    for (const a of d.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    for (const l of d.links) modes[l.link] = l.mode;
    setMode("storm", `storm, minute ${d.worst_minute}`);
    paint(util, up, modes);
    const cells = $("#cells");
    cells.replaceChildren();
    for (const c of d.cells_at_worst) {
      el("circle", { cx: px(c.x), cy: py(c.y), r: Math.max(4, 2.5 * c.r * (W - PAD - PAD_RIGHT)), class: "cell" }, cells);
    }
    const s = d.summary;
    const hit = d.links.filter((l) => l.mode !== l.clear_sky_mode).sort((a, b) => b.fade_db - a.fade_db);
    box.innerHTML = `<p class="verdict${s.links_ever_down ? " bad" : ""}" id="storm-verdict">worst rain fade ${s.max_rain_fade_db.toFixed(1)} dB;
      ${s.links_ever_down} link(s) went down; radio capacity fell to ${pct(s.min_capacity_fraction)};
      peak utilisation ${pct(s.peak_max_utilisation)}</p>
      <h4>At the worst minute (${d.worst_minute}): ${hit.length} link(s) below clear-sky modulation</h4>
      <div id="storm-table">${table(hit, [["link", "link"], ["mode", "mode"], ["clear sky", "clear_sky_mode"],
        ["fade", "fade_db", (v) => `${v.toFixed(1)} dB`, 1], ["capacity", "capacity_bps", (v) => si(v, "bit/s"), 1], ["min down", "minutes_down", null, 1]])}</div>
      <h4>Services</h4>${table(Object.entries(s.services).map(([k, v]) => Object.assign({ service: k }, v)),
        [["service", "service"], ["minutes violated", "minutes_violated", null, 1], ["worst delay", "worst_delay_s", ms, 1]])}`;
  } catch (e) {
    box.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// ---------------------------------------------------------------- shell
function tab(name) {
  document.querySelectorAll("aside nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".panel").forEach((p) => { p.hidden = p.id !== `panel-${name}`; });
  if (name === "alarms") loadAlarms();
}

async function selectNetwork(nid) {
  ui.nid = nid; ui.live = null; ui.failLinks.clear();
  $("#element").innerHTML = ""; $("#element-hint").hidden = false;
  ui.topo = await api(`${API}/networks/${nid}/topology`);
  const t = ui.topo;
  $("#net-summary").textContent = `${t.name}: ${t.nodes.length} nodes, ${t.links.length} links${t.geographic ? " (map)" : " (layout)"}`;
  const opts = '<option value="">—</option>' + t.nodes.map((n) => `<option value="${esc(n.id)}">${esc(n.name)}</option>`).join("");
  for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).innerHTML = opts;
  $("#whatif-links").textContent = "none";
  const radio = t.links.some((l) => l.modulation);
  $("[data-tab=storm]").disabled = !radio;
  if (t.geographic && t.nodes.length) {
    const lat = t.nodes.reduce((s, n) => s + n.latitude, 0) / t.nodes.length;
    const lon = t.nodes.reduce((s, n) => s + n.longitude, 0) / t.nodes.length;
    $("#storm-lat").value = lat.toFixed(3); $("#storm-lon").value = lon.toFixed(3);
  }
  drawTopology();
  setMode("live");
  try { ui.live = await api(`${API}/networks/${nid}/state`); } catch (e) { ui.live = null; }
  paintLive();
  loadAlarms();
  openStream(nid);
}

async function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  const nets = await api(`${API}/networks`);
  $("#network").innerHTML = nets.map((n) => `<option value="${esc(n.id)}">${esc(n.id)} — ${esc(n.name)}</option>`).join("");
  const want = new URLSearchParams(location.search).get("network");
  const first = nets.find((n) => n.id === want) || nets[0];
  if (first) { $("#network").value = first.id; await selectNetwork(first.id); }
}

function signOut(message) {
  sessionStorage.removeItem("nettwin-token");
  ui.token = null;
  if (ui.stream) ui.stream.abort();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

async function signIn(token) {
  ui.token = token;
  try {
    await api(`${API}/networks`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.message !== "unauthorised") signOut(e.message);
    return;
  }
  sessionStorage.setItem("nettwin-token", token);
  await start();
}

window.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#logout").addEventListener("click", () => signOut());
  $("#network").addEventListener("change", (ev) => selectNetwork(ev.target.value));
  $("#back-live").addEventListener("click", () => setMode("live"));
  document.querySelectorAll("aside nav button").forEach((b) => b.addEventListener("click", () => tab(b.dataset.tab)));
  $("#alarms-cleared").addEventListener("change", loadAlarms);
  $("#alarms-table").addEventListener("click", (ev) => {
    const row = ev.target.closest("tr[data-alarm]");
    if (!row) return;
    if (ev.target.classList.contains("ack")) patchAlarm(row.dataset.alarm, { ackState: "acknowledged" });
    if (ev.target.classList.contains("clear")) patchAlarm(row.dataset.alarm, { state: "cleared" });
  });
  $("#whatif-run").addEventListener("click", runWhatif);
  $("#whatif-reset").addEventListener("click", () => {
    ui.failLinks.clear(); $("#whatif-links").textContent = "none";
    for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).value = "";
    $("#whatif-scale").value = "1"; $("#whatif-result").innerHTML = ""; setMode("live");
  });
  $("#n1-run").addEventListener("click", runN1);
  $("#storm-run").addEventListener("click", runStorm);
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  const token = fromHash || sessionStorage.getItem("nettwin-token");
  if (token) signIn(token); else signOut();
});
