// nettwin dashboard: plain ES2020, no build step. Talks to the same app's REST API with the
// bearer token the user signs in with; live state arrives as Server-Sent Events read with
// fetch (EventSource cannot send an Authorization header).
//
// The map always shows one thing at a time, named in the header badge (#view-mode): the base
// view (live utilisation, or the plan's when the network has no telemetry or "plan" is
// picked), or one analysis result (what-if, N-1, storm minute, history instant) computed on
// the same basis. Switching network, basis or inputs drops every result of the old ones.
"use strict";

const API = "/api/v1";
const ALARMS = "/tmf-api/alarmManagement/v4";
const W = 1000, H = 760, PAD = 40;
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];

const ui = {
  token: null, nid: null, topo: null, basis: "live", live: null, plan: null,
  mode: "base", view: null, selected: null, failLinks: new Set(), stream: null,
  alarmTimer: null, tables: {}, alarmSort: { key: "raised", dir: -1 }, alarms: [],
  frames: null, zoom: { k: 1, x: 0, y: 0 }, pos: {}, names: {}, arcOrder: [], arcCap: {},
  arcLink: {}, warm: null, n1Job: null, historyTimer: null, generation: 0,
};

// ---------------------------------------------------------------- API
class ApiError extends Error {}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${ui.token}` }, options.headers || {});
  if (options.body && typeof options.body !== "string" && !(options.body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) { signOut("token refused: sign in again"); throw new ApiError("unauthorised"); }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text.slice(0, 300) }; }
  if (!res.ok) {
    let msg = body && (body.detail || body.message) || res.statusText;
    if (Array.isArray(msg)) msg = msg.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    if (body && body.problems) msg = body.problems.map((p) => `${p.element}${p.field ? " " + p.field : ""}: ${p.message}${p.value ? " (" + p.value + ")" : ""}${p.fix ? ". Fix: " + p.fix : ""}`).join("; ");
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
const bps = (v) => si(v, "bit/s");
const ms = (s) => (s == null || !isFinite(s) ? "—" : `${(1e3 * s).toFixed(2)} ms`);
// Plain, predictable text order (case-insensitive, by code point): what a CSV sorts to.
function textCmp(x, y) {
  const a = String(x).toLowerCase(), b = String(y).toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const two = (n) => String(n).padStart(2, "0");
function toDate(t) { return t == null ? null : new Date(typeof t === "number" ? t * 1000 : t); }
function clock(t) {
  const d = toDate(t);
  if (!d || isNaN(d)) return "—";
  const hms = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return d.toDateString() === new Date().toDateString() ? hms : `${d.toISOString().slice(0, 10)} ${hms}`;
}
function duration(s) {
  if (s == null || !isFinite(s)) return "—";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${two(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${two(Math.floor(s % 3600 / 60))} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor(s % 86400 / 3600)} h`;
}
const NO_DATA = "#b8bec6";
function colour(u) {
  if (u == null || !isFinite(u)) return "#d61f1f";
  if (u >= 1) return "#d61f1f";
  if (u >= 0.8) return "#f07f13";
  if (u >= 0.5) return "#e3c400";
  return "#2e9d4b";
}
const nodeName = (id) => ui.names[id] || id;
// "L (A->B)" -> "A → B" with human names
function direction(label) {
  const m = /^(.*) \((.*)->(.*)\)$/.exec(label);
  return m ? `${nodeName(m[2])} → ${nodeName(m[3])}` : label;
}
// "L (A->B)" -> "(A→B)" in short names, for text that already names the link
function arrow(label) {
  const m = /^(.*) \((.*)->(.*)\)$/.exec(label);
  return m ? `(${nodeName(m[2])} → ${nodeName(m[3])})` : "";
}
const linkOfArc = (label) => ui.arcLink[label] || (/^(.*) \(/.exec(label) || [])[1] || label;

// Field names with units -> words and formatted values (the element panel, no raw names).
const UNITS = [
  [/_bps$/, (v) => bps(v)], [/_s$/, (v) => (v < 1 ? ms(v) : `${v.toFixed(2)} s`)],
  [/_km$/, (v) => `${(+v).toFixed(1)} km`], [/_dbm$/, (v) => `${(+v).toFixed(1)} dBm`],
  [/_dbi$/, (v) => `${(+v).toFixed(1)} dBi`], [/_db$/, (v) => `${(+v).toFixed(1)} dB`],
  [/_ghz$/, (v) => `${v} GHz`], [/_mm_h$/, (v) => `${v} mm/h`], [/_m$/, (v) => `${v} m`],
  [/_h$/, (v) => `${v} h`], [/_deg$/, (v) => `${v}°`],
];
function fieldLabel(k) {
  return k.replace(/_(bps|s|km|dbm|dbi|db|ghz|mm_h|m|h|deg)$/, "").replace(/_ab$/, " a→b")
    .replace(/_ba$/, " b→a").replace(/_a$/, " (a)").replace(/_b$/, " (b)").replace(/_/g, " ");
}
function fieldValue(k, v) {
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (Array.isArray(v)) return v.map(esc).join(", ");
  if (v && typeof v === "object") return attrList(v);
  if (typeof v === "number") {
    const u = UNITS.find(([re]) => re.test(k));
    if (u) return esc(u[1](v));
  }
  return esc(v);
}
function attrList(obj, id) {
  const rows = Object.entries(obj).filter(([, v]) => v != null && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `<dt title="${esc(k)}">${esc(fieldLabel(k))}</dt><dd>${fieldValue(k, v)}</dd>`);
  return `<dl class="attrs"${id ? ` id="${id}"` : ""}>${rows.join("")}</dl>`;
}

// ---------------------------------------------------------------- tables (sort + CSV)
// cols: [title, key, format?, numeric?]; rows keep their raw values for sorting and CSV.
function table(rows, cols, id, opts = {}) {
  ui.tables[id] = { rows: rows.slice(), cols, sort: null, name: opts.name || id, attrs: opts.attrs };
  return `<div class="tbl" data-table="${id}">${renderTable(id)}</div>`;
}
function renderTable(id) {
  const t = ui.tables[id];
  const rows = t.rows.slice();
  if (t.sort) {
    const [k, dir] = t.sort;
    rows.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x == null) return 1;
      if (y == null) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : textCmp(x, y)) * dir;
    });
  }
  const head = t.cols.map((c) => `<th class="sortable${c[4] ? " " + c[4] : ""}" data-sort="${esc(c[1])}" title="sort">${esc(c[0])}${t.sort && t.sort[0] === c[1] ? (t.sort[1] > 0 ? " ▲" : " ▼") : ""}</th>`).join("");
  const body = rows.map((r) => `<tr${t.attrs ? t.attrs(r) : ""}>` + t.cols.map((c) => {
    const v = c[2] ? c[2](r[c[1]], r) : r[c[1]];
    const cls = [c[3] ? "num" : "", c[4] || ""].filter(Boolean).join(" ");
    return `<td${cls ? ` class="${cls}"` : ""}>${v == null ? "—" : (c[2] ? v : esc(v))}</td>`;
  }).join("") + "</tr>").join("");
  return `<div class="tools"><span class="hint">${rows.length} row${rows.length === 1 ? "" : "s"}</span><button class="csv" data-csv="${id}" title="download as CSV (raw values, SI units)">CSV</button></div>
    <table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
function sortTable(id, key) {
  const t = ui.tables[id];
  t.sort = t.sort && t.sort[0] === key ? [key, -t.sort[1]] : [key, 1];
  const box = document.querySelector(`.tbl[data-table="${CSS.escape(id)}"]`);
  if (box) box.innerHTML = renderTable(id);
}
function csvOf(rows, keys) {
  const cell = (v) => {
    if (v == null) return "";
    const s = Array.isArray(v) ? v.join(";") : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [keys.join(","), ...rows.map((r) => keys.map((k) => cell(r[k])).join(","))].join("\n") + "\n";
}
function downloadCsv(id) {
  const t = ui.tables[id];
  if (!t) return;
  // the columns on screen first, then every other field the rows carry (ids, raw numbers)
  const keys = t.cols.map((c) => c[1]);
  for (const r of t.rows.slice(0, 50)) {
    for (const [k, v] of Object.entries(r)) if (!keys.includes(k) && (v == null || typeof v !== "object" || Array.isArray(v))) keys.push(k);
  }
  const blob = new Blob([csvOf(t.rows, keys)], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${(ui.topo ? ui.topo.name : "nettwin")}-${t.name}.csv`.replace(/[^\w.-]+/g, "_");
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---------------------------------------------------------------- map
const svgNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
const px = (x) => PAD + x * (W - 2 * PAD);
const py = (y) => PAD + y * (H - 2 * PAD);

function drawTopology() {
  const t = ui.topo;
  ui.pos = Object.fromEntries(t.nodes.map((n) => [n.id, [px(n.x), py(n.y)]]));
  const links = $("#links"), nodes = $("#nodes");
  links.replaceChildren(); nodes.replaceChildren(); $("#cells").replaceChildren(); $("#labels").replaceChildren();
  for (const lk of t.links) {
    const [x1, y1] = ui.pos[lk.a], [x2, y2] = ui.pos[lk.b];
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
      el("title", {}, line).textContent = direction(arc);
    });
    if (lk.modulation) {
      const m = el("text", { x: (x1 + x2) / 2 + 3 * ox, y: (y1 + y2) / 2 + 3 * oy, class: "mod", "text-anchor": "middle", "data-mod": lk.id }, links);
      m.textContent = lk.modulation;
    }
    g.addEventListener("click", (ev) => { if (!ui.dragged) onLinkClick(lk.id); ev.stopPropagation(); });
  }
  const r = t.nodes.length > 150 ? 2.5 : 6;
  for (const n of t.nodes) {
    const [x, y] = ui.pos[n.id];
    const c = el("circle", { cx: x, cy: y, r, class: "node", "data-node": n.id }, nodes);
    el("title", {}, c).textContent = n.name;
    c.addEventListener("click", (ev) => { if (!ui.dragged) showElement("node", n.id); ev.stopPropagation(); });
  }
  applyZoom();
}

// Labels: each node's name goes where it overlaps no other label and no node (eight places
// tried around the node, busiest nodes first); a name that fits nowhere is left out (the
// node's tooltip still has it) and comes back when zooming in makes room.
function placeLabels() {
  const g = $("#labels");
  g.replaceChildren();
  if (!ui.topo) return;
  const k = ui.zoom.k, s = 1 / k, fs = 11 * s, cw = 6.1 * s, lh = 12 * s;
  const deg = {};
  for (const lk of ui.topo.links) { deg[lk.a] = (deg[lk.a] || 0) + 1; deg[lk.b] = (deg[lk.b] || 0) + 1; }
  const nodes = ui.topo.nodes.slice().sort((a, b) => (deg[b.id] || 0) - (deg[a.id] || 0));
  const boxes = nodes.map((n) => { const [x, y] = ui.pos[n.id]; return [x - 5 * s, y - 5 * s, x + 5 * s, y + 5 * s]; });
  const hit = (b) => boxes.some((o) => b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]);
  const [vx0, vy0, vx1, vy1] = visibleBox();
  for (const n of nodes) {
    const [x, y] = ui.pos[n.id];
    if (x < vx0 || x > vx1 || y < vy0 || y > vy1) continue;
    const spots = [[x + 8 * s, y + 4 * s, "start"], [x - 8 * s, y + 4 * s, "end"], [x, y - 9 * s, "middle"],
      [x, y + 17 * s, "middle"], [x + 7 * s, y - 7 * s, "start"], [x - 7 * s, y - 7 * s, "end"],
      [x + 7 * s, y + 15 * s, "start"], [x - 7 * s, y + 15 * s, "end"]];
    // measured, not guessed: the label's real width and height at this zoom
    const t = el("text", { x: spots[0][0], y: spots[0][1], "text-anchor": "start", class: "label", "data-label": n.id, "font-size": fs.toFixed(2), "stroke-width": (3 * s).toFixed(2) }, g);
    t.textContent = n.name;
    let w = cw * n.name.length, h = lh, top = -lh + 2 * s;
    try { const bb = t.getBBox(); if (bb.width > 0) { w = bb.width; h = bb.height; top = bb.y - spots[0][1]; } } catch (e) { /* not rendered */ }
    let placed = false;
    for (const [tx, ty, anchor] of spots) {
      const x0 = anchor === "start" ? tx : anchor === "end" ? tx - w : tx - w / 2;
      const box = [x0 - s, ty + top - s, x0 + w + s, ty + top + h + s];
      if (hit(box) || box[0] < vx0 || box[2] > vx1 || box[1] < vy0 || box[3] > vy1) continue;
      boxes.push(box);
      t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("text-anchor", anchor);
      placed = true;
      break;
    }
    if (!placed) t.remove();
  }
  // Modulation tags: shown where they collide with no name and no other tag.
  $$("text.mod").forEach((m) => {
    m.setAttribute("font-size", (9 * s).toFixed(2)); m.setAttribute("stroke-width", (3 * s).toFixed(2));
    const x = +m.getAttribute("x"), y = +m.getAttribute("y"), w = 5.2 * s * m.textContent.length;
    const box = [x - w / 2, y - 9 * s, x + w / 2, y + 2 * s];
    const free = !boxes.some((o) => box[0] < o[2] && box[2] > o[0] && box[1] < o[3] && box[3] > o[1]);
    m.style.visibility = free ? "visible" : "hidden";
    if (free) boxes.push(box);
  });
}

// ---------------------------------------------------------------- zoom and pan
function visibleBox() {
  const { k, x, y } = ui.zoom;
  return [-x / k, -y / k, (W - x) / k, (H - y) / k];
}
function applyZoom() {
  const { k, x, y } = ui.zoom;
  $("#viewport").setAttribute("transform", `translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${k.toFixed(4)})`);
  const r = (ui.topo && ui.topo.nodes.length > 150 ? 2.5 : 6) / Math.pow(k, 0.7);
  $$("circle.node").forEach((c) => c.setAttribute("r", r.toFixed(2)));
  placeLabels();
}
function zoomAt(factor, cx = W / 2, cy = H / 2) {
  const z = ui.zoom;
  const k = Math.min(40, Math.max(1, z.k * factor));
  z.x = cx - (cx - z.x) * (k / z.k);
  z.y = cy - (cy - z.y) * (k / z.k);
  z.k = k;
  clampPan();
  applyZoom();
}
function clampPan() {
  const z = ui.zoom;
  z.x = Math.min(0, Math.max(W - W * z.k, z.x));
  z.y = Math.min(0, Math.max(H - H * z.k, z.y));
}
function svgPoint(ev) {
  const svg = $("#map");
  const p = svg.createSVGPoint();
  p.x = ev.clientX; p.y = ev.clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}
function centreOn(x, y) {
  const z = ui.zoom;
  if (z.k < 2.5) z.k = 2.5;
  z.x = W / 2 - x * z.k; z.y = H / 2 - y * z.k;
  clampPan(); applyZoom();
}
function setupZoom() {
  const svg = $("#map");
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = svgPoint(ev);
    zoomAt(ev.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
  }, { passive: false });
  let start = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const p = svgPoint(ev);
    start = { p, x: ui.zoom.x, y: ui.zoom.y };
    ui.dragged = false;
  });
  window.addEventListener("pointermove", (ev) => {
    if (!start) return;
    const p = svgPoint(ev);
    const dx = p.x - start.p.x, dy = p.y - start.p.y;
    if (!ui.dragged && Math.hypot(dx, dy) < 4) return;
    ui.dragged = true;
    svg.classList.add("panning");
    ui.zoom.x = start.x + dx; ui.zoom.y = start.y + dy;
    clampPan();
    $("#viewport").setAttribute("transform", `translate(${ui.zoom.x.toFixed(2)} ${ui.zoom.y.toFixed(2)}) scale(${ui.zoom.k.toFixed(4)})`);
  });
  window.addEventListener("pointerup", () => {
    if (start && ui.dragged) placeLabels();
    start = null; svg.classList.remove("panning");
    setTimeout(() => { ui.dragged = false; }, 0);
  });
  $("#zoom-in").addEventListener("click", () => zoomAt(1.5));
  $("#zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
  $("#zoom-reset").addEventListener("click", () => { ui.zoom = { k: 1, x: 0, y: 0 }; applyZoom(); });
}

// ---------------------------------------------------------------- painting
// util, up: per arc label; modes: per radio link. Records what is shown (the element panel
// reads it back so that its "map" column is exactly what the map says).
function paint(util, up, modes, what) {
  let max = 0, maxArc = null;
  $$("line.arc").forEach((line) => {
    const arc = line.dataset.arc;
    const u = util[arc], down = up[arc] === false, known = u != null && !Number.isNaN(u);
    line.style.stroke = known ? colour(u) : NO_DATA;  // never a green "0 %" for "not measured"
    line.classList.toggle("down", down);
    if (!down && u > max) { max = u; maxArc = arc; }
    line.querySelector("title").textContent = `${direction(arc)} (${linkOfArc(arc)}): ${down ? "down" : known ? pct(u) : "no data"} — ${what}`;
  });
  const shownModes = Object.assign({}, Object.fromEntries(ui.topo.links.filter((l) => l.modulation).map((l) => [l.id, l.modulation])), modes || {});
  let relabel = false;
  for (const [lid, name] of Object.entries(shownModes)) {
    const m = document.querySelector(`text.mod[data-mod="${CSS.escape(lid)}"]`);
    if (m && m.textContent !== name) { m.textContent = name; relabel = true; }
  }
  if (relabel) placeLabels();
  ui.view = { util, up, modes: shownModes, what };
  $("#max-util").textContent = `max ${pct(max)}${maxArc ? " on " + linkOfArc(maxArc) : ""}`;
  markPicked();
}
function markPicked() {
  $$("line.arc.selected").forEach((l) => l.classList.remove("selected"));
  for (const lid of ui.failLinks) {
    $$(`line.arc[data-link="${CSS.escape(lid)}"]`).forEach((l) => l.classList.add("selected"));
  }
}
function markSelected() {
  $$("circle.node.selected").forEach((c) => c.classList.remove("selected"));
  $$("line.halo").forEach((l) => l.remove());
  const s = ui.selected;
  if (!s) return;
  if (s.kind === "node") document.querySelector(`circle.node[data-node="${CSS.escape(s.id)}"]`)?.classList.add("selected");
  if (s.kind === "link") {
    const hit = document.querySelector(`line.hit[data-link="${CSS.escape(s.id)}"]`);
    if (hit) {
      const h = el("line", { x1: hit.getAttribute("x1"), y1: hit.getAttribute("y1"), x2: hit.getAttribute("x2"), y2: hit.getAttribute("y2"), class: "halo", "data-halo": s.id });
      hit.parentNode.insertBefore(h, hit);
    }
  }
}

function basisLabel() { return ui.basis === "live" && ui.live ? "live" : "plan"; }
function setBadge(text) { $("#view-mode").textContent = text; $("#view-mode").title = text; }
function note(text) { $("#map-note").hidden = !text; $("#map-note").textContent = text || ""; }

// The base view: live utilisation, or the plan's (and saying why).
function paintBase() {
  ui.mode = "base";
  $("#back-live").hidden = true;
  $("#cells").replaceChildren();
  hideTimebar();
  if (ui.basis === "live" && ui.live) {
    const util = {}, up = {};
    for (const a of ui.live.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    paint(util, up, ui.live.link_modes, `live ${clock(ui.live.time)}`);
    setBadge(`live · ${clock(ui.live.time)}`);
    note("");
  } else if (ui.plan) {
    const util = {}, up = {};
    for (const a of ui.plan.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    paint(util, up, {}, "plan");
    if (ui.basis === "live") {
      setBadge("plan (no telemetry)");
      note("No live telemetry for this network yet: the map shows the planned utilisation " +
        "(static traffic matrix), and what-if and N-1 run on the plan.");
    } else {
      setBadge("plan");
      note("");
    }
  }
  $$(".basis-name").forEach((b) => { b.textContent = basisLabel() === "live" ? "live" : "planned"; });
  if (ui.selected) refreshElementColumns();
}

function showResult(mode, badge) {
  ui.mode = mode;
  setBadge(badge);
  $("#back-live").hidden = false;
  $("#back-live").textContent = `back to ${basisLabel()}`;
  note("");
}

// Drop every analysis result (another network, another basis, or changed inputs).
function clearResults() {
  $("#whatif-result").innerHTML = "";
  $("#n1-result").innerHTML = ""; $("#n1-status").textContent = "";
  $("#storm-result").innerHTML = "";
  $("#history-result").innerHTML = "";
  $("#qos-result").innerHTML = "";
  ui.frames = null; ui.n1Job = null; ui.generation += 1;
  if (ui.topo) paintBase();
}

function hideTimebar() { $("#timebar").hidden = true; ui.timebar = null; }
function showTimebar(label, n, value, onInput, fmt) {
  const r = $("#timebar-range");
  $("#timebar").hidden = false;
  $("#timebar-label").textContent = label;
  r.max = String(n - 1); r.value = String(value);
  ui.timebar = { onInput, fmt };
  $("#timebar-value").textContent = fmt(value);
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
    if (ui.stream === ctrl) $("#live-status").classList.remove("on");
  }
  if (!ctrl.signal.aborted) setTimeout(() => ui.nid === nid && openStream(nid), 3000);
}

function onEvent(event, data) {
  if (event === "state" && data.network_id === ui.nid) {
    const first = !ui.live;
    ui.live = data;
    if (ui.mode === "base") paintBase();
    else if (first) $("#back-live").textContent = `back to ${basisLabel()}`;
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
  return changes;
}
function whatifInputsChanged() {
  if ($("#whatif-result").innerHTML) {
    $("#whatif-result").innerHTML = '<p class="hint" id="whatif-stale">Inputs changed: run the what-if again.</p>';
    if (ui.mode === "whatif") paintBase();
  }
}
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
      api(`${API}/networks/${ui.nid}/whatif?limit=100000`, { method: "POST", body: { name: "dashboard what-if", changes, basis } }),
      api(`${API}/networks/${ui.nid}/basis?kind=${basis}`),
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
      api(`${API}/networks/${nid}/sweeps`, { method: "POST", body: { links: true, nodes: $("#n1-nodes").checked, basis } }),
      api(`${API}/networks/${nid}/basis?kind=${basis}`),
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

// ---------------------------------------------------------------- warm-up
async function pollWarmup() {
  try {
    ui.warm = await api(`${API}/warmup`);
  } catch (e) { return; }
  const w = ui.warm, badge = $("#warmup");
  badge.hidden = w.state !== "warming";
  badge.textContent = `warming up: ${w.running || "starting"} (${w.done.length}/${w.steps.length})`;
  if (w.state === "warming") setTimeout(pollWarmup, 1500);
}

// ---------------------------------------------------------------- upload
async function uploadNetwork(file) {
  const msg = $("#upload-msg");
  msg.hidden = false; msg.className = ""; msg.textContent = `reading ${file.name}…`;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const d = await api(`${API}/networks`, { method: "POST", body: form });
    await listNetworks(d.id);
    msg.innerHTML = '<button id="upload-msg-close" title="dismiss">×</button>';
    msg.append(`added ${d.name}: ${d.nodes} nodes, ${d.links} links, ${d.demands} demands` +
      (d.notes.length ? ` — ${d.notes.length} default(s) applied: ${d.notes.slice(0, 3).join(" ")}${d.notes.length > 3 ? " …" : ""}` : ""));
  } catch (e) {
    msg.className = "error";
    msg.innerHTML = '<button id="upload-msg-close" title="dismiss">×</button>';
    msg.append(`could not add ${file.name}: ${e.message}`);
  }
}

// ---------------------------------------------------------------- shell
function tab(name) {
  $$("aside nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  $$(".panel").forEach((p) => { p.hidden = p.id !== `panel-${name}`; });
  if (name === "alarms") loadAlarms();
}

async function selectNetwork(nid) {
  ui.nid = nid; ui.live = null; ui.plan = null; ui.failLinks.clear(); ui.selected = null; ui.element = null;
  ui.alarms = []; ui.zoom = { k: 1, x: 0, y: 0 };
  $("#element").innerHTML = ""; $("#element-hint").hidden = false;
  $("#alarms-box").innerHTML = ""; $("#alarm-count").textContent = "";
  for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).value = "";
  $("#whatif-scale").value = "1";
  $("#whatif-links").textContent = "none";
  clearResults();
  ui.topo = await api(`${API}/networks/${nid}/topology`);
  if (ui.nid !== nid) return;
  const t = ui.topo;
  ui.names = Object.fromEntries(t.nodes.map((n) => [n.id, n.name]));
  ui.arcOrder = t.links.flatMap((l) => l.arcs);
  ui.arcLink = Object.fromEntries(t.links.flatMap((l) => l.arcs.map((a) => [a, l.id])));
  ui.arcCap = Object.fromEntries(t.links.flatMap((l) => [[l.arcs[0], l.capacity_ab_bps], [l.arcs[1], l.capacity_ba_bps]]));
  $("#net-summary").textContent = `${t.nodes.length} nodes, ${t.links.length} links${t.geographic ? "" : " (layout)"}`;
  const opts = '<option value="">—</option>' + t.nodes.map((n) => `<option value="${esc(n.id)}">${esc(n.name)}</option>`).join("");
  for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).innerHTML = opts;
  const radio = t.links.some((l) => l.modulation);
  $("[data-tab=storm]").disabled = !radio;
  $("[data-tab=storm]").title = radio ? "" : "no microwave links in this network";
  if (t.geographic && t.nodes.length) {
    const lat = t.nodes.reduce((s, n) => s + n.latitude, 0) / t.nodes.length;
    const lon = t.nodes.reduce((s, n) => s + n.longitude, 0) / t.nodes.length;
    $("#storm-lat").value = lat.toFixed(3); $("#storm-lon").value = lon.toFixed(3);
  }
  fillSearch();
  fillQos();
  drawTopology();
  const [plan, live] = await Promise.all([
    api(`${API}/networks/${nid}/basis?kind=plan`).catch(() => null),
    api(`${API}/networks/${nid}/state`).catch(() => null),
  ]);
  if (ui.nid !== nid) return;
  ui.plan = plan;
  ui.live = ui.live || live || await mirroredState(nid);
  paintBase();
  loadAlarms();
  openStream(nid);
}

// Without a telemetry feed, the live twin's mirrored counters (observations ingested over
// the API or a bus) are the live state; refreshed every 10 s while that is the source.
async function mirroredState(nid) {
  let snap = null;
  try { snap = await api(`${API}/networks/${nid}/live`); } catch (e) { return null; }
  if (!snap || !snap.samples || ui.nid !== nid) return null;
  clearTimeout(ui.mirrorTimer);
  ui.mirrorTimer = setTimeout(async () => {
    if (ui.nid !== nid || (ui.live && !ui.live.mirrored)) return;
    const next = await mirroredState(nid);
    if (next && ui.nid === nid) { ui.live = next; if (ui.mode === "base") paintBase(); }
  }, 10000);
  return {
    mirrored: true, network_id: nid, time: snap.time,
    arcs: snap.arcs.map((a) => ({ arc: a.arc, utilisation: a.utilisation, up: a.up })),
    link_modes: Object.fromEntries(Object.entries(snap.modulation || {}).filter(([, v]) => v)),
  };
}

async function listNetworks(want) {
  const nets = await api(`${API}/networks`);
  ui.nets = nets;
  const count = {};
  for (const n of nets) count[n.name] = (count[n.name] || 0) + 1;
  $("#network").innerHTML = nets.map((n) => `<option value="${esc(n.id)}">${esc(n.name)}${count[n.name] > 1 ? ` (${esc(n.id.slice(0, 6))})` : ""} — ${n.nodes} nodes</option>`).join("");
  const first = nets.find((n) => n.id === want) || nets[0];
  if (first) { $("#network").value = first.id; await selectNetwork(first.id); }
}

async function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  pollWarmup();
  await listNetworks(new URLSearchParams(location.search).get("network"));
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

function setBasis(b) {
  if (ui.basis === b) return;
  ui.basis = b;
  $$("#basis button").forEach((x) => { x.classList.toggle("on", x.dataset.basis === b); x.setAttribute("aria-checked", String(x.dataset.basis === b)); });
  clearResults();  // results on the other basis would now mislead
}

window.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#logout").addEventListener("click", () => signOut());
  $("#network").addEventListener("change", (ev) => selectNetwork(ev.target.value));
  $("#back-live").addEventListener("click", () => paintBase());
  $$("#basis button").forEach((b) => b.addEventListener("click", () => setBasis(b.dataset.basis)));
  $$("aside nav button").forEach((b) => b.addEventListener("click", () => tab(b.dataset.tab)));
  $("#upload-btn").addEventListener("click", () => $("#upload-file").click());
  $("#upload-msg").addEventListener("click", (ev) => { if (ev.target.id === "upload-msg-close") $("#upload-msg").hidden = true; });
  $("#upload-file").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) uploadNetwork(f); ev.target.value = ""; });
  $("#search").addEventListener("change", (ev) => runSearch(ev.target.value));
  $("#search").addEventListener("keydown", (ev) => { if (ev.key === "Enter") runSearch(ev.target.value); });
  for (const id of ["#alarms-cleared", "#alarms-severity"]) $(id).addEventListener("change", renderAlarms);
  $("#alarms-search").addEventListener("input", renderAlarms);
  $("#alarms-box").addEventListener("click", (ev) => {
    const th = ev.target.closest("th[data-asort]");
    if (th) {
      const k = th.dataset.asort;
      ui.alarmSort = { key: k, dir: ui.alarmSort.key === k ? -ui.alarmSort.dir : 1 };
      renderAlarms();
      return;
    }
    const go = ev.target.closest("a.goto");
    if (go) {
      ev.preventDefault();
      const o = go.dataset.object;
      if (ui.topo.links.some((l) => l.id === o)) showElement("link", o);
      else if (ui.names[o]) showElement("node", o);
      else if (ui.topo.services.some((s) => s.id === o)) showService(o);
      return;
    }
    const row = ev.target.closest("tr[data-alarm]");
    if (!row) return;
    const ids = row.dataset.alarms.split(" ");
    if (ev.target.classList.contains("ack")) patchAlarms(ids, { ackState: "acknowledged" });
    if (ev.target.classList.contains("clear")) patchAlarms(ids, { state: "cleared" });
  });
  document.addEventListener("click", (ev) => {
    const csv = ev.target.closest("button[data-csv]");
    if (csv) { downloadCsv(csv.dataset.csv); return; }
    const th = ev.target.closest(".tbl[data-table] th[data-sort]");
    if (th) sortTable(th.closest(".tbl").dataset.table, th.dataset.sort);
  });
  $("#whatif-run").addEventListener("click", runWhatif);
  for (const id of ["#whatif-node", "#whatif-drain", "#whatif-scale", "#surge-src", "#surge-dst", "#surge-gbps"]) {
    $(id).addEventListener("input", whatifInputsChanged);
  }
  $("#whatif-reset").addEventListener("click", () => {
    ui.failLinks.clear(); $("#whatif-links").textContent = "none";
    for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).value = "";
    $("#whatif-scale").value = "1"; $("#whatif-result").innerHTML = "";
    if (ui.mode === "whatif") paintBase(); else markPicked();
  });
  $("#n1-run").addEventListener("click", runN1);
  $("#storm-run").addEventListener("click", runStorm);
  $("#history-open").addEventListener("click", openHistory);
  $("#qos-run").addEventListener("click", runQos);
  $("#timebar-range").addEventListener("input", (ev) => {
    const k = parseInt(ev.target.value, 10);
    if (ui.timebar) { $("#timebar-value").textContent = ui.timebar.fmt(k); ui.timebar.onInput(k); }
  });
  setupZoom();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  const token = fromHash || sessionStorage.getItem("nettwin-token");
  if (token) signIn(token); else signOut();
});
