// Browser-side runner of the conformance scenarios: the same scenario bodies
// as the Node suite (../conformance/scenarios/), run in the page with the
// browser's own WebSocket, fetch and XMLHttpRequest. Bundled by
// TestBrowserConformance into dist/browser/runner.js (node:assert/strict is
// aliased to ./assert.mjs) and loaded by index.html.
//
// The page is /browser/?transport=websocket|longpoll on the Go test server;
// ./config.json names the sockets and the client bundles:
//   {socket, limitedSocket, clients: [{name, suite: "phoenix"|"livestate", module, authToken}]}
// When done, window.__results = {done: true, transport, rows: [{client,
// scenario, status: "pass"|"fail"|"skip", ms, error}], counts} or
// {done: true, fatal} — what browser/run.mjs waits for.
import { ALL_TRANSPORTS, scenarioURL, skipReason } from '../conformance/core.mjs';
import { scenarios as phoenixScenarios } from '../conformance/scenarios/phoenix.mjs';
import { scenarios as liveStateScenarios } from '../conformance/scenarios/livestate.mjs';
import { scenarios as presenceScenarios } from '../conformance/scenarios/presence.mjs';

const suites = { phoenix: [...phoenixScenarios, ...presenceScenarios], livestate: liveStateScenarios };

/** Default per-scenario deadline, as in the Node suite. */
const SCENARIO_TIMEOUT_MS = 15000;

/** runScenario runs one scenario with a deadline and its cleanups; returns a result row. */
async function runScenario(client, transport, env, s) {
  const row = { client: client.name, scenario: s.name, status: 'skip', ms: 0, error: '' };
  const reason = skipReason(client, transport, s, 'the browser');
  if (reason) {
    row.error = reason;
    return row;
  }
  const cleanups = [];
  const t = { after: (fn) => cleanups.push(fn) };
  const ms = s.timeout ?? SCENARIO_TIMEOUT_MS;
  const started = performance.now();
  let timer;
  try {
    await Promise.race([
      s.run({ url: scenarioURL(env, s), transport, client, env, t }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario timed out after ${ms} ms`)), ms);
      }),
    ]);
    row.status = 'pass';
  } catch (e) {
    row.status = 'fail';
    row.error = e?.message ?? String(e);
  } finally {
    clearTimeout(timer);
    for (const fn of cleanups) {
      try {
        await fn();
      } catch (e) {
        if (row.status === 'pass') Object.assign(row, { status: 'fail', error: `cleanup: ${e?.message ?? e}` });
      }
    }
    row.ms = Math.round(performance.now() - started);
  }
  return row;
}

/** render shows the results so far as a table (what the screenshot records). */
function render(transport, rows, done) {
  const counts = tally(rows);
  const title = document.querySelector('#summary');
  title.textContent = `${transport}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped${done ? '' : ' (running…)'}`;
  title.className = counts.fail ? 'fail' : 'pass';
  const body = document.querySelector('#results tbody');
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    tr.className = r.status;
    for (const text of [r.status, r.client, r.scenario, r.status === 'skip' ? '' : `${r.ms} ms`, r.error]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}

function tally(rows) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const r of rows) counts[r.status] += 1;
  return counts;
}

/**
 * countWebSockets replaces the global WebSocket with a subclass that counts
 * connections, so a run can prove which transport it used: phoenix.js
 * silently takes the global WebSocket when its `transport` is missing.
 */
function countWebSockets() {
  const counter = { opened: 0 };
  const Native = globalThis.WebSocket;
  globalThis.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      counter.opened += 1;
    }
  };
  return counter;
}

/** transportCheck is the result row saying whether the run used its transport. */
function transportCheck(transport, counter) {
  const used = counter.opened > 0;
  const good = transport === 'websocket' ? used : !used;
  return {
    client: 'runner',
    scenario: `${transport} run used ${transport === 'websocket' ? 'WebSockets' : 'no WebSocket'}`,
    status: good ? 'pass' : 'fail',
    ms: 0,
    error: good ? '' : `${counter.opened} WebSocket connections were opened`,
  };
}

async function main() {
  const transport = new URLSearchParams(location.search).get('transport') || 'websocket';
  if (!ALL_TRANSPORTS.includes(transport)) throw new Error(`unknown transport "${transport}"`);
  const res = await fetch('config.json');
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  const config = await res.json();
  const sockets = countWebSockets();
  const wsBase = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  const env = {
    url: wsBase + config.socket,
    limitedURL: wsBase + config.limitedSocket,
    http: location.origin,
    WebSocket: globalThis.WebSocket,
  };
  const clients = await Promise.all(config.clients.map(async (c) => ({
    ...c,
    lib: await import(new URL(c.module, location.href).href),
    transports: ALL_TRANSPORTS, // every client build has both transports in a browser
  })));

  const rows = [];
  const runClient = async (client) => {
    const scenarios = suites[client.suite];
    if (!scenarios) throw new Error(`${client.name}: unknown suite "${client.suite}"`);
    for (const s of scenarios) {
      rows.push(await runScenario(client, transport, env, s));
      render(transport, rows, false);
    }
  };
  // Over WebSocket the clients run side by side. Long-poll holds one HTTP
  // request per socket and Chromium allows six per host, so one at a time.
  if (transport === 'websocket') {
    await Promise.all(clients.map(runClient));
  } else {
    for (const c of clients) await runClient(c);
  }
  const order = new Map(clients.map((c, i) => [c.name, i]));
  rows.sort((a, b) => order.get(a.client) - order.get(b.client));
  rows.push(transportCheck(transport, sockets));
  render(transport, rows, true);
  window.__results = { done: true, transport, rows, counts: tally(rows) };
}

main().catch((e) => {
  const summary = document.querySelector('#summary');
  summary.textContent = `runner failed: ${e?.stack ?? e}`;
  summary.className = 'fail';
  window.__results = { done: true, fatal: e?.stack ?? String(e) };
});
