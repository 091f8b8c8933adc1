// Node side of the conformance suite: the environment TestNodeConformance
// passes, the node:test table runner (clients × transports × scenarios) and a
// raw WebSocket client for wire-order checks the official clients hide. The
// environment-agnostic helpers live in core.mjs (re-exported here) and the
// scenario bodies in scenarios/, which the browser runner shares.
//
// Environment (set by TestNodeConformance in ../node_test.go):
//   SEANCE_URL          socket base of the main registry, ws://127.0.0.1:PORT/socket
//   SEANCE_LIMITED_URL  socket base of the registry limited to 2 channels
//   SEANCE_HTTP         http://127.0.0.1:PORT (POST /broadcast)
//   SEANCE_LVS_BUNDLES  JSON [{name, path}] of the bundled phx-live-state versions
//   SEANCE_TRANSPORTS   comma-separated transports to run (default "websocket")
import { describe, test } from 'node:test';
import { once } from 'node:events';
import WebSocket from 'ws';
import {
  ALL_TRANSPORTS, Recorder, scenarioURL, skipReason,
} from './core.mjs';

export * from './core.mjs';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through "go test ./e2e/"`);
  return v;
}

export const URL = required('SEANCE_URL');
export const LIMITED_URL = required('SEANCE_LIMITED_URL');
export const HTTP = required('SEANCE_HTTP');
export const TRANSPORTS = (process.env.SEANCE_TRANSPORTS || 'websocket')
  .split(',').map((s) => s.trim()).filter(Boolean);
for (const tr of TRANSPORTS) {
  // An unknown name would silently skip every scenario.
  if (!ALL_TRANSPORTS.includes(tr)) throw new Error(`SEANCE_TRANSPORTS: unknown transport "${tr}"`);
}

/** ENV is the scenario environment in Node (see core.mjs). */
export const ENV = { url: URL, limitedURL: LIMITED_URL, http: HTTP, WebSocket };

/**
 * runScenarios registers one test per client × transport × scenario.
 * A client is {name, lib, transports: [...supported in Node], ...}; a
 * scenario is {name, run(ctx), transports?, when?(client), limited?,
 * timeout?} (see scenarios/). Scenarios a client or transport cannot do
 * (authToken before phoenix 1.8, binary over long-poll) are skipped with the
 * reason.
 */
export function runScenarios(clients, scenarios) {
  for (const client of clients) {
    describe(client.name, () => {
      // Only the transports this client has in Node: the others are covered
      // elsewhere (another file, or the browser leg), not skipped here.
      for (const transport of TRANSPORTS.filter((tr) => client.transports.includes(tr))) {
        describe(transport, () => {
          for (const s of scenarios) {
            const skip = skipReason(client, transport, s, 'Node');
            test(s.name, { timeout: s.timeout ?? 15000, skip },
              (t) => s.run({ url: scenarioURL(ENV, s), transport, client, env: ENV, t }));
          }
        });
      }
    });
  }
}

/**
 * rawSocket opens a bare WebSocket to the server (vsn 2.0.0) to check frame
 * order and refs exactly; frames are decoded JSON arrays or {binary: Buffer}.
 */
export async function rawSocket(t, url, query = '') {
  const ws = new WebSocket(`${url}/websocket?${query}vsn=2.0.0`);
  const frames = new Recorder();
  ws.on('message', (data, isBinary) => frames.push(isBinary ? { binary: data } : JSON.parse(data.toString())));
  t.after(() => ws.terminate());
  await Promise.race([
    once(ws, 'open'),
    once(ws, 'error').then(([e]) => { throw e; }),
  ]);
  return {
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    ws,
  };
}
