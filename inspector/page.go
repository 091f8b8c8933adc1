package inspector

import "html/template"

// DefaultClientModuleURL is where the page loads phx-live-state from
// unless Options.ClientModuleURL says otherwise: jsDelivr's ES module
// build of the exact version the project tests against (a pinned version
// on a CDN does not change under you). A page that cannot load it (offline,
// a Content-Security-Policy without cdn.jsdelivr.net) polls figures.json.
const DefaultClientModuleURL = "https://cdn.jsdelivr.net/npm/phx-live-state@0.12.3/+esm"

// page is the inspector's page. It loads phx-live-state from the module
// URL and joins the "inspector" LiveState channel on the inspector's
// socket, rendering every state it receives; when the module does not
// load, or the socket errors before the first state, it polls
// figures.json every second instead. #mode tells which (data-mode "live"
// or "polling").
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Seance inspector</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}h2{margin-top:1.5em}#mode{color:#666}</style></head>
<body><h1>Seance inspector</h1><p id="at">…</p><p id="mode" data-mode="starting">starting</p><div id="figures"></div>
<script type="module">
const moduleURL = {{.}};
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
const num = v => typeof v === "number" ? Math.round(v * 100) / 100 : v;
const table = (title, obj) => "<h2>" + esc(title) + "</h2><table>" +
  (Object.keys(obj || {}).length ? Object.entries(obj).map(([k, v]) => "<tr><th>" + esc(k) + "</th><td>" + esc(typeof v === "number" ? num(v) : JSON.stringify(v)) + "</td></tr>").join("") : "<tr><td>none</td></tr>") + "</table>";
const list = (title, items) => "<h2>" + esc(title) + "</h2><table>" +
  ((items || []).length ? items.map(i => "<tr><td>" + esc(i.at) + "</td><td>" + esc(i.pattern || "") + "</td><td>" + esc(i.transport) + "</td></tr>").join("") : "<tr><td>none</td></tr>") + "</table>";
const conns = items => "<h2>Connections (first " + (items || []).length + ")</h2><table><tr><th>id</th><th>transport</th><th>remote</th><th>identity</th><th>topics</th><th>queued</th></tr>" +
  (items || []).map(c => "<tr><td>" + esc(c.id) + "</td><td>" + esc(c.transport) + "</td><td>" + esc(c.remote) + "</td><td>" + esc(c.identity || "") + "</td><td>" + esc((c.topics || []).join(" ")) + "</td><td>" + esc(c.queued) + "</td></tr>").join("") + "</table>";
const nodesOf = t => Object.entries(t.nodes || {}).map(([n, c]) => (n || "(local)") + ": " + c).join(", ");
const topics = items => "<h2>Topics (busiest " + (items || []).length + ")</h2><table data-table=\"topics\"><tr><th>topic</th><th>pattern</th><th>subscribers</th><th>by node</th><th>events/s</th><th>state version</th><th>state bytes</th><th>presence</th></tr>" +
  ((items || []).length ? items.map(t => "<tr data-topic=\"" + esc(t.name) + "\"><td>" + esc(t.name) + "</td><td>" + esc(t.pattern) + "</td><td data-col=\"subscribers\">" + esc(t.subscribers) +
    "</td><td>" + esc(nodesOf(t)) + "</td><td data-col=\"events\">" + esc(num(t.events_per_second)) + "</td><td data-col=\"version\">" + esc(t.state ? t.state.version : "") +
    "</td><td data-col=\"bytes\">" + esc(t.state ? t.state.bytes : "") + "</td><td>" + esc(t.presence || "") + "</td></tr>").join("") : "<tr><td>none</td></tr>") + "</table>";
function render(f) {
  document.getElementById("at").textContent = "at " + f.at;
  document.getElementById("figures").innerHTML =
    table("Connections", f.connections) + table("Channels", f.channels) +
    table("Events per second", f.events_per_second) + topics(f.topics) + (f.presence ? table("Presence", f.presence) : "") +
    (f.nodes || []).map(n => table("Node " + (n.name || "(local)"), Object.assign({sessions: n.sessions}, n.pubsub))).join("") +
    conns(f.sessions) + list("Recent crashes", f.crashes) + list("Recent slow consumers", f.slow_consumers);
}
function mode(m, why) {
  const el = document.getElementById("mode");
  el.dataset.mode = m;
  el.textContent = m === "live" ? "live: phx-live-state on the inspector's socket" : "polling figures.json every second" + (why ? " (" + why + ")" : "");
}
let polling = false;
function poll(why) {
  if (polling) return;
  polling = true;
  mode("polling", why);
  const refresh = async () => {
    try {
      const r = await fetch("figures.json", {credentials: "same-origin"});
      if (!r.ok) throw new Error(r.status);
      render(await r.json());
    } catch (e) { document.getElementById("at").textContent = "not available: " + e.message; }
  };
  refresh(); setInterval(refresh, 1000);
}
try {
  const m = await import(moduleURL);
  const LiveState = m.LiveState || m.default;
  const url = new URL("socket", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ls = new LiveState({url: url.href, topic: "inspector"});
  let live = false;
  ls.addEventListener("livestate-change", ({detail: {state}}) => {
    if (polling) return;
    if (!live) { live = true; mode("live"); }
    render(state);
  });
  ls.addEventListener("livestate-error", () => { if (!live) { ls.disconnect(); poll("the socket failed"); } });
  ls.connect();
} catch (e) {
  poll("phx-live-state did not load from " + moduleURL);
}
</script></body></html>
`))
