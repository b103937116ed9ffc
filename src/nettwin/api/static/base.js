// nettwin dashboard: plain ES2020, no build step. Talks to the same app's REST API with the
// bearer token the user signs in with; live state arrives as Server-Sent Events read with
// fetch (EventSource cannot send an Authorization header).
//
// The map always shows one thing at a time, named in the header badge (#view-mode): the base
// view (live utilisation, or the plan's when the network has no telemetry or "plan" is
// picked), or one analysis result (what-if, N-1, storm minute, history instant) computed on
// the same basis. Switching network, basis or inputs drops every result of the old ones.
//
// Files, loaded in this order by index.html (plain scripts sharing one global scope): base.js
// (API client, formatting, sortable tables with CSV export), map.js, panels.js, app.js.
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
