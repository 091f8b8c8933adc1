package inspector

// page is the inspector's page: it shows the figures, refreshed every
// second from figures.json (the "inspector" LiveState channel streams the
// same figures to phx-live-state clients).
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Seance inspector</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}h2{margin-top:1.5em}</style></head>
<body><h1>Seance inspector</h1><p id="at">…</p><div id="figures"></div>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
const table = (title, obj) => "<h2>" + esc(title) + "</h2><table>" +
  (Object.keys(obj || {}).length ? Object.entries(obj).map(([k, v]) => "<tr><th>" + esc(k) + "</th><td>" + esc(typeof v === "number" ? Math.round(v * 100) / 100 : JSON.stringify(v)) + "</td></tr>").join("") : "<tr><td>none</td></tr>") + "</table>";
const list = (title, items) => "<h2>" + esc(title) + "</h2><table>" +
  ((items || []).length ? items.map(i => "<tr><td>" + esc(i.at) + "</td><td>" + esc(i.pattern || "") + "</td><td>" + esc(i.transport) + "</td></tr>").join("") : "<tr><td>none</td></tr>") + "</table>";
const conns = items => "<h2>Connections (first " + (items || []).length + ")</h2><table><tr><th>id</th><th>transport</th><th>remote</th><th>identity</th><th>topics</th><th>queued</th></tr>" +
  (items || []).map(c => "<tr><td>" + esc(c.id) + "</td><td>" + esc(c.transport) + "</td><td>" + esc(c.remote) + "</td><td>" + esc(c.identity || "") + "</td><td>" + esc((c.topics || []).join(" ")) + "</td><td>" + esc(c.queued) + "</td></tr>").join("") + "</table>";
async function refresh() {
  try {
    const r = await fetch("figures.json", {credentials: "same-origin"});
    if (!r.ok) throw new Error(r.status);
    const f = await r.json();
    document.getElementById("at").textContent = "at " + f.at;
    document.getElementById("figures").innerHTML =
      table("Connections", f.connections) + table("Channels", f.channels) +
      table("Events per second", f.events_per_second) + (f.presence ? table("Presence", f.presence) : "") +
      (f.nodes || []).map(n => table("Node " + (n.name || "(local)"), Object.assign({sessions: n.sessions}, n.pubsub))).join("") +
      conns(f.sessions) + list("Recent crashes", f.crashes) + list("Recent slow consumers", f.slow_consumers);
  } catch (e) { document.getElementById("at").textContent = "not available: " + e.message; }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>
`
