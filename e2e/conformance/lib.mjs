// Shared helpers of the conformance suite: the scenario table runner (clients
// × transports × scenarios), event recorders with deadlines, promise
// wrappers for phoenix.js pushes, and a raw WebSocket client for wire-order
// checks the official clients hide.
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
  if (!['websocket', 'longpoll'].includes(tr)) throw new Error(`SEANCE_TRANSPORTS: unknown transport "${tr}"`);
}

/** Default deadline of one awaited event. */
export const WAIT_MS = 5000;

/**
 * Fast timers so that rejoins and reconnects do not slow the suite. `timeout`
 * (join/push timeout, 10 s by default) also bounds how long Node stays alive
 * after the last test: pushes the server never answers (LiveState events, a
 * crash) keep a timer each, even after disconnect.
 */
export const FAST = { rejoinAfterMs: () => 50, reconnectAfterMs: () => 50, timeout: 2500 };

/**
 * The phoenix.js Socket option `transport` for a transport name. `lib` is the
 * module that provides LongPoll (the phoenix build under test).
 */
export function transportOption(transport, lib) {
  switch (transport) {
    case 'websocket': return WebSocket;
    case 'longpoll': return lib.LongPoll;
    default: throw new Error(`unknown transport "${transport}"`);
  }
}

/**
 * runScenarios registers one test per client × transport × scenario.
 * A client is {name, transports: [...supported in Node], ...}; a scenario is
 * {name, run({url, transport, client, t}), transports?, when?(client),
 * timeout?}. Unsupported combinations are skipped with the reason.
 */
export function runScenarios(clients, scenarios) {
  for (const client of clients) {
    describe(client.name, () => {
      for (const transport of TRANSPORTS) {
        describe(transport, () => {
          for (const s of scenarios) {
            let skip = false;
            if (!client.transports.includes(transport)) {
              skip = `${client.name} has no ${transport} transport in Node`;
            } else if (s.transports && !s.transports.includes(transport)) {
              skip = `scenario is ${s.transports.join('/')} only`;
            } else if (s.when && !s.when(client)) {
              skip = `not supported by ${client.name}`;
            }
            test(s.name, { timeout: s.timeout ?? 15000, skip },
              (t) => s.run({ url: s.url ?? URL, transport, client, t }));
          }
        });
      }
    });
  }
}

/** uniq returns a fresh topic under prefix (scenarios run in parallel files). */
let seq = 0;
export function uniq(prefix) {
  seq += 1;
  return `${prefix}:${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Recorder collects items (frames, events) and lets a test await the next
 * one matching a predicate, with a deadline whose error lists what was seen.
 */
export class Recorder {
  constructor() {
    this.items = [];
    this.cursor = 0;
    this.wakers = new Set();
    this.push = (item) => {
      this.items.push(item);
      for (const w of this.wakers) w();
    };
  }

  /** next resolves with the first item after the cursor matching pred and moves the cursor past it. */
  async next(pred = () => true, what = 'an item', ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = this.cursor; i < this.items.length; i++) {
        if (pred(this.items[i])) {
          this.cursor = i + 1;
          return this.items[i];
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${ms} ms waiting for ${what}; after the cursor: ${show(this.items.slice(this.cursor))}`);
      }
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.wakers.add(done);
      });
    }
  }

  /** all returns the items matching pred seen so far. */
  all(pred = () => true) {
    return this.items.filter(pred);
  }
}

/** show renders items for error messages (ArrayBuffers as byte lists). */
export function show(v) {
  return JSON.stringify(v, (_k, x) => (x instanceof ArrayBuffer ? { bytes: [...new Uint8Array(x)] } : x));
}

/** bytes turns an ArrayBuffer (or Buffer) into a plain array for deepEqual. */
export function bytes(buf) {
  return [...new Uint8Array(buf)];
}

/** reply wraps a phoenix.js Push (join, push, leave) in a promise of {status, response}. */
export function reply(push) {
  return new Promise((resolve) => {
    push
      .receive('ok', (response) => resolve({ status: 'ok', response }))
      .receive('error', (response) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout' }));
  });
}

/**
 * openSocket makes a phoenix.js Socket with fast timers, records its raw
 * inbound messages (socket.onMessage) and errors, connects it, and
 * disconnects it when the test ends.
 */
export function openSocket(t, { url, transport, client }, opts = {}) {
  const socket = new client.lib.Socket(url, {
    ...FAST,
    transport: transportOption(transport, client.lib),
    ...opts,
  });
  const frames = new Recorder();
  const errors = new Recorder();
  socket.onMessage(frames.push);
  socket.onError((e) => errors.push(e ?? 'error'));
  t.after(() => socket.disconnect());
  socket.connect();
  return { socket, frames, errors };
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

/** postBroadcast calls the server's POST /broadcast (reg.Broadcast). */
export async function postBroadcast(topic, event, payload) {
  const res = await fetch(`${HTTP}/broadcast?topic=${encodeURIComponent(topic)}&event=${encodeURIComponent(event)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`POST /broadcast: ${res.status} ${await res.text()}`);
  return res.json();
}
