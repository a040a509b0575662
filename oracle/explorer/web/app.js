// Hexproof explorer: plain JS, no dependencies. Hash routes:
// #/ map, #/hotspots, #/hotspot/{address}, #/epochs, #/epoch/{n}, #/ouis.
"use strict";

const view = document.getElementById("view");
const statusEl = document.getElementById("status");
const SVGNS = "http://www.w3.org/2000/svg";
let tileURL = "";
let mapState = { res: 8, viewBox: null, sig: "" };
let refreshTimer = null;

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
async function api(path) {
  const r = await fetch("/api/v1/" + path, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function short(a) { return a ? a.slice(0, 10) + "…" + a.slice(-6) : ""; }
function hxp(u) { return (Number(u) / 1e6).toLocaleString(undefined, { maximumFractionDigits: 6 }) + " HXP"; }
function verdict(valid, reason) {
  return valid ? '<span class="ok">valid</span>' : '<span class="bad">invalid: ' + esc(reason || "unknown") + "</span>";
}
function link(addr) { return '<a href="#/hotspot/' + esc(addr) + '">' + esc(short(addr)) + "</a>"; }

async function pollStatus() {
  try {
    const s = await api("status");
    statusEl.textContent = (s.chain_id || "no chain yet") + " · chain height " + (s.height ?? "?") +
      " · indexed " + s.indexed_height + " · " + s.hotspots + " hotspots";
  } catch (e) {
    statusEl.textContent = "explorer unavailable: " + e.message;
  }
}

// --- map -------------------------------------------------------------------
// Web Mercator in world units: x, y in [0, W].
const W = 1e6;
function project(lat, lng) {
  const s = Math.sin(Math.max(-85, Math.min(85, lat)) * Math.PI / 180);
  return [(lng + 180) / 360 * W, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * W];
}
function scaleColour(s) {
  const h = Math.round(120 * Math.max(0, Math.min(1, s)));
  return "hsl(" + h + ",70%,45%)";
}
function el(name, attrs) {
  const e = document.createElementNS(SVGNS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

async function renderMap(keepView) {
  if (!keepView) {
    view.innerHTML = '<div class="toolbar"><label>H3 resolution <select id="res"></select></label>' +
      '<span class="legend">density scale <span class="sw" style="background:' + scaleColour(0) + '"></span>0 ' +
      '<span class="sw" style="background:' + scaleColour(0.5) + '"></span>0.5 ' +
      '<span class="sw" style="background:' + scaleColour(1) + '"></span>1</span>' +
      '<span class="legend">— witness link (dashed: invalid)</span><span id="mapinfo"></span></div>' +
      '<div id="mapwrap"><svg id="map" xmlns="' + SVGNS + '"></svg></div>';
    const sel = document.getElementById("res");
    for (let r = 4; r <= 12; r++) sel.add(new Option(String(r), String(r), false, r === mapState.res));
    sel.onchange = () => { mapState.res = Number(sel.value); mapState.sig = ""; renderMap(true); };
  }
  const svg = document.getElementById("map");
  if (!svg) return;
  const [hx, ln, hs] = await Promise.all([
    api("hexes?boundary=1&res=" + mapState.res), api("links"), api("hotspots?limit=1000")]);
  const sig = JSON.stringify([hx.hexes.length, ln.links.length, hs.total, mapState.res, hx.hexes.map(h => h.hotspots + ":" + h.scale).join()]);
  if (keepView && sig === mapState.sig && svg.childNodes.length) { document.body.dataset.ready = "map"; return; }
  mapState.sig = sig;
  svg.innerHTML = "";
  document.getElementById("mapinfo").textContent = hx.hexes.length + " hexes at res " + hx.res + ", " + ln.links.length + " witness links";
  if (!hx.hexes.length) {
    const t = el("text", { x: 20, y: 40 });
    t.textContent = "No located hotspots indexed yet.";
    svg.setAttribute("viewBox", "0 0 400 100");
    svg.appendChild(t);
    document.body.dataset.ready = "map";
    return;
  }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const polys = hx.hexes.map(h => {
    const pts = h.boundary.map(p => project(p[0], p[1]));
    for (const [x, y] of pts) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
    return [h, pts];
  });
  const pad = Math.max(maxX - minX, maxY - minY) * 0.08 + 1;
  if (!mapState.viewBox || !keepView) mapState.viewBox = [minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad];
  svg.setAttribute("viewBox", mapState.viewBox.join(" "));
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const unit = mapState.viewBox[2] / 800;
  if (tileURL) drawTiles(svg, minX - pad, minY - pad, maxX + pad, maxY + pad);
  const gHex = el("g", {}), gLink = el("g", {}), gHs = el("g", {});
  const maxCount = Math.max(...hx.hexes.map(h => h.hotspots));
  for (const [h, pts] of polys) {
    const p = el("polygon", { class: "hex", points: pts.map(q => q.join(",")).join(" "),
      fill: scaleColour(h.scale), "fill-opacity": (0.35 + 0.5 * h.hotspots / maxCount).toFixed(2), "stroke-width": unit, "data-h3": h.h3 });
    const title = el("title", {});
    title.textContent = h.h3 + ": " + h.hotspots + " hotspot(s), scale " + h.scale;
    p.appendChild(title);
    gHex.appendChild(p);
  }
  for (const l of ln.links) {
    const a = project(l.from[0], l.from[1]), b = project(l.to[0], l.to[1]);
    gLink.appendChild(el("line", { class: "link" + (l.valid ? "" : " invalid"), x1: a[0], y1: a[1], x2: b[0], y2: b[1], "stroke-width": unit * 1.5 }));
  }
  for (const h of hs.hotspots) {
    if (h.lat == null) continue;
    const [x, y] = project(h.lat, h.lng);
    const c = el("circle", { class: "hs", cx: x, cy: y, r: unit * 3, "stroke-width": unit * 0.8 });
    const title = el("title", {});
    title.textContent = h.address;
    c.appendChild(title);
    c.addEventListener("click", () => { location.hash = "#/hotspot/" + h.address; });
    gHs.appendChild(c);
  }
  svg.append(gHex, gLink, gHs);
  enablePanZoom(svg);
  document.body.dataset.ready = "map";
}

function drawTiles(svg, x0, y0, x1, y1) {
  const span = Math.max(x1 - x0, y1 - y0) / W;
  const z = Math.max(0, Math.min(18, Math.floor(Math.log2(4 / span))));
  const n = 2 ** z, size = W / n;
  const g = el("g", {});
  for (let i = Math.floor(x0 / size); i <= Math.floor(x1 / size); i++) {
    for (let j = Math.floor(y0 / size); j <= Math.floor(y1 / size); j++) {
      if (i < 0 || j < 0 || i >= n || j >= n) continue;
      const href = tileURL.replace("{z}", z).replace("{x}", i).replace("{y}", j);
      g.appendChild(el("image", { href, x: i * size, y: j * size, width: size, height: size }));
    }
  }
  svg.appendChild(g);
}

function enablePanZoom(svg) {
  if (svg.dataset.pz) return;
  svg.dataset.pz = "1";
  let drag = null;
  svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const vb = mapState.viewBox, r = svg.getBoundingClientRect();
    const f = ev.deltaY > 0 ? 1.2 : 1 / 1.2;
    const mx = vb[0] + (ev.clientX - r.left) / r.width * vb[2], my = vb[1] + (ev.clientY - r.top) / r.height * vb[3];
    mapState.viewBox = [mx - (mx - vb[0]) * f, my - (my - vb[1]) * f, vb[2] * f, vb[3] * f];
    svg.setAttribute("viewBox", mapState.viewBox.join(" "));
  }, { passive: false });
  svg.addEventListener("mousedown", ev => { drag = [ev.clientX, ev.clientY, mapState.viewBox.slice()]; });
  window.addEventListener("mouseup", () => { drag = null; });
  svg.addEventListener("mousemove", ev => {
    if (!drag) return;
    const r = svg.getBoundingClientRect(), vb = drag[2];
    const k = Math.max(vb[2] / r.width, vb[3] / r.height);
    mapState.viewBox = [vb[0] - (ev.clientX - drag[0]) * k, vb[1] - (ev.clientY - drag[1]) * k, vb[2], vb[3]];
    svg.setAttribute("viewBox", mapState.viewBox.join(" "));
  });
}

// --- pages -----------------------------------------------------------------
async function renderHotspots() {
  const d = await api("hotspots?limit=1000");
  view.innerHTML = "<h1>Hotspots (" + d.total + ")</h1><table><tr><th>address</th><th>owner</th><th>location</th><th>region</th><th>mode</th><th>added</th></tr>" +
    d.hotspots.map(h => "<tr><td class=addr>" + link(h.address) + "</td><td class=addr>" + esc(short(h.owner)) + "</td><td>" + esc(h.location ?? "not asserted") +
      "</td><td>" + esc(h.region) + "</td><td>" + esc(h.mode) + "</td><td>" + h.added_height + "</td></tr>").join("") + "</table>";
  document.body.dataset.ready = "hotspots";
}

function rewardsChart(rewards) {
  const w = 800, h = 180, pad = 30;
  if (!rewards.length) return '<p class="empty">No rewards yet.</p>';
  const max = Math.max(...rewards.map(r => r.total_uhxp), 1);
  const bw = (w - 2 * pad) / rewards.length;
  let s = '<svg id="rewards-chart" viewBox="0 0 ' + w + " " + h + '" preserveAspectRatio="none">';
  rewards.forEach((r, i) => {
    const bh = (h - 2 * pad) * r.total_uhxp / max;
    s += '<rect class="bar" x="' + (pad + i * bw + 1) + '" y="' + (h - pad - bh) + '" width="' + Math.max(1, bw - 2) + '" height="' + bh +
      '"><title>epoch ' + r.epoch + ": " + esc(hxp(r.total_uhxp)) + "</title></rect>";
    if (rewards.length <= 40) s += '<text x="' + (pad + i * bw + bw / 2) + '" y="' + (h - pad + 12) + '" text-anchor="middle">' + r.epoch + "</text>";
  });
  s += '<text x="' + pad + '" y="' + (pad - 8) + '">max ' + esc(hxp(max)) + " per epoch</text></svg>";
  return s;
}

async function renderHotspot(addr) {
  const d = await api("hotspots/" + encodeURIComponent(addr));
  const kv = [["owner", d.owner], ["location (H3 res 12)", d.location ?? "not asserted"],
    ["centre", d.lat != null ? d.lat + ", " + d.lng : "-"], ["antenna gain", (d.gain_ddbi / 10) + " dBi"], ["elevation", d.elevation_m + " m"],
    ["region", d.region], ["mode", d.mode], ["density scale", d.scale ?? "-"], ["added at height", d.added_height],
    ["last beacon", ago(d.last_beacon_height, d.indexed_height)], ["last witness report", ago(d.last_witness_height, d.indexed_height)]];
  let s = "<h1>Hotspot " + esc(d.address) + "</h1><table class=kv>" + kv.map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(v) + "</td></tr>").join("") + "</table>";
  s += "<h2>Rewards per epoch</h2>" + rewardsChart(d.rewards);
  s += '<table id="rewards-table"><tr><th>epoch</th><th>total</th><th>breakdown</th></tr>' + d.rewards.slice().reverse().map(r =>
    '<tr><td><a href="#/epoch/' + r.epoch + '">' + r.epoch + "</a></td><td>" + esc(hxp(r.total_uhxp)) + "</td><td>" + esc(breakdown(r.detail)) + "</td></tr>").join("") + "</table>";
  s += "<h2>Recent beacons</h2>" + (d.beacons.length ? "<table><tr><th>height</th><th>verdict</th><th>witnesses (valid)</th><th>submitted by</th></tr>" +
    d.beacons.map(b => "<tr><td>" + b.height + "</td><td>" + verdict(b.valid, b.reason) + "</td><td>" + b.witnesses + " (" + b.valid_witnesses + ")</td><td class=addr>" + esc(short(b.submitter)) + "</td></tr>").join("") + "</table>" : '<p class="empty">No beacons yet.</p>');
  s += "<h2>Who witnessed it</h2>" + witnessTable(d.witnessed_by, "witness");
  s += "<h2>Whom it witnessed</h2>" + witnessTable(d.witnessed, "beaconer");
  view.innerHTML = s;
  document.body.dataset.ready = "hotspot";
}

function ago(h, now) {
  return h == null ? "never" : "height " + h + " (" + (now - h) + " blocks ago)";
}

function breakdown(detail) {
  if (!detail || typeof detail !== "object") return "";
  return Object.entries(detail).filter(([k, v]) => k !== "epoch" && k !== "hotspot" && k !== "owner" && v !== "" && v !== 0)
    .map(([k, v]) => k + "=" + v).join(", ");
}

function witnessTable(list, who) {
  if (!list.length) return '<p class="empty">None yet.</p>';
  return "<table><tr><th>height</th><th>" + who + "</th><th>verdict</th><th>rewarded</th><th>RSSI</th><th>SNR</th></tr>" + list.map(w =>
    "<tr><td>" + w.height + "</td><td class=addr>" + link(w[who]) + "</td><td>" + verdict(w.valid, w.reason) + "</td><td>" + (w.selected ? "yes" : "no") +
    "</td><td>" + w.rssi_dbm + " dBm</td><td>" + (w.snr_cb / 10) + " dB</td></tr>").join("") + "</table>";
}

async function renderEpochs() {
  const d = await api("epochs");
  view.innerHTML = "<h1>Epochs</h1>" + (d.epochs.length ? "<table><tr><th>epoch</th><th>heights</th><th>emission</th></tr>" + d.epochs.map(e =>
    '<tr><td><a href="#/epoch/' + e.epoch + '">' + e.epoch + "</a></td><td>" + e.start_height + "–" + e.end_height + "</td><td>" + esc(hxp(e.emission_uhxp)) + "</td></tr>").join("") + "</table>" : '<p class="empty">No epoch has ended yet.</p>');
  document.body.dataset.ready = "epochs";
}

async function renderEpoch(n) {
  const d = await api("epochs/" + n + "/rewards");
  let s = "<h1>Epoch " + d.epoch.epoch + "</h1><table class=kv>" + Object.entries(d.epoch.summary || {}).map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(v) + "</td></tr>").join("") + "</table>";
  s += '<h2>Hotspot rewards (' + d.hotspots.length + ')</h2><table id="epoch-rewards"><tr><th>hotspot</th><th>total</th><th>breakdown</th></tr>' + d.hotspots.map(h =>
    "<tr><td class=addr>" + link(h.hotspot) + "</td><td>" + esc(hxp(h.total_uhxp)) + "</td><td>" + esc(breakdown(h.detail)) + "</td></tr>").join("") + "</table>";
  s += "<h2>Validators, oracles, remainder</h2><table><tr><th>account</th><th>kind</th><th>amount</th></tr>" + d.accounts.map(a =>
    "<tr><td class=addr>" + esc(a.account) + "</td><td>" + esc(a.kind) + "</td><td>" + esc(hxp(a.amount_uhxp)) + "</td></tr>").join("") + "</table>";
  view.innerHTML = s;
  document.body.dataset.ready = "epoch";
}

async function renderOUIs() {
  const d = await api("ouis");
  view.innerHTML = "<h1>OUIs</h1>" + (d.ouis.length ? "<table><tr><th>OUI</th><th>owner</th><th>NetID</th><th>DC escrow</th><th>DC burned</th><th>DC used</th><th>packets</th></tr>" + d.ouis.map(o =>
    "<tr><td>" + o.oui + "</td><td class=addr>" + esc(short(o.owner)) + "</td><td>" + o.net_id.toString(16).padStart(6, "0") + "</td><td>" + o.escrow_dc + "</td><td>" + o.burned_dc + "</td><td>" + o.used_dc + "</td><td>" + o.packets + "</td></tr>").join("") + "</table>" : '<p class="empty">No OUI registered yet.</p>');
  document.body.dataset.ready = "ouis";
}

async function route(refresh) {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  delete document.body.dataset.ready;
  try {
    switch (parts[0]) {
      case "hotspot": return await renderHotspot(decodeURIComponent(parts[1] || ""));
      case "hotspots": return await renderHotspots();
      case "epochs": return await renderEpochs();
      case "epoch": return await renderEpoch(Number(parts[1]));
      case "ouis": return await renderOUIs();
      default: return await renderMap(refresh);
    }
  } catch (e) {
    view.innerHTML = '<p class="bad">' + esc(e.message) + "</p>";
    document.body.dataset.ready = "error";
  }
}

async function main() {
  try { tileURL = (await api("config")).tile_url || ""; } catch (e) { /* hexes only */ }
  try {
    // Big networks start coarser: fewer, larger polygons to fetch and draw.
    const n = (await api("status")).hotspots;
    mapState.res = n > 20000 ? 6 : n > 2000 ? 7 : 8;
  } catch (e) { /* keep the default */ }
  window.addEventListener("hashchange", () => route(false));
  await Promise.all([pollStatus(), route(false)]);
  // Live updates: status every 5 s, the current page every 10 s.
  setInterval(pollStatus, 5000);
  refreshTimer = setInterval(() => { if (!document.hidden) route(true); }, 10000);
}
main();
