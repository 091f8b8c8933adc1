// LiveState conformance in Node: the bundled phx-live-state versions run the
// scenarios of scenarios/livestate.mjs against the Go server.
import { runScenarios } from './lib.mjs';
import { scenarios } from './scenarios/livestate.mjs';

// phx-live-state logs through console.debug / console.log; keep the report clean.
console.debug = () => {};
console.log = () => {};

const bundles = JSON.parse(process.env.SEANCE_LVS_BUNDLES || '[]');
if (bundles.length === 0) throw new Error('SEANCE_LVS_BUNDLES is empty: run the suite through "go test ./e2e/"');

const clients = [];
for (const b of bundles) {
  const lib = await import(b.path);
  // phoenix 1.6/1.7 have no fetch fallback: 0.11.2's long-poll run is in
  // legacy-longpoll.test.mjs (with an XMLHttpRequest shim) and in the browser leg.
  const longpoll = !b.name.endsWith('0.11.2');
  clients.push({ name: b.name, lib, transports: longpoll ? ['websocket', 'longpoll'] : ['websocket'] });
}

runScenarios(clients, scenarios);
