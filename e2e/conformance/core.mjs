// Environment-agnostic helpers of the conformance scenarios, shared by the
// Node suite (lib.mjs, node:test) and the browser runner (../browser/):
// event recorders with deadlines, promise wrappers for phoenix.js pushes,
// socket setup and the skip rules of the client × transport × scenario table.
//
// Nothing here touches Node or the DOM. What differs between the two
// environments travels in the scenario context:
//
//   ctx = { t, url, transport, client, env }
//   t      { after(fn) }: cleanup when the scenario ends (node:test's t, or the runner's)
//   url    socket base the scenario connects to (env.url, or env.limitedURL for `limited` scenarios)
//   client { name, lib, transports, ... }: the client build under test
//   env    { url, limitedURL, http, WebSocket }: WebSocket is the constructor
//          phoenix.js gets as `transport` ('ws' in Node, the native one in a browser)

/** Default deadline of one awaited event. */
export const WAIT_MS = 5000;

/**
 * Fast timers so that rejoins and reconnects do not slow the suite. `timeout`
 * (join/push timeout, 10 s by default) also bounds how long Node stays alive
 * after the last test: pushes the server never answers (LiveState events, a
 * crash) keep a timer each, even after disconnect.
 */
export const FAST = { rejoinAfterMs: () => 50, reconnectAfterMs: () => 50, timeout: 2500 };

/** The transports a scenario table can name. */
export const ALL_TRANSPORTS = ['websocket', 'longpoll'];

/**
 * skipReason says why scenario s does not run for client over transport in
 * `where` ("Node", "the browser"), or returns false when it runs.
 */
export function skipReason(client, transport, s, where) {
  if (!client.transports.includes(transport)) return `${client.name} has no ${transport} transport in ${where}`;
  if (s.transports && !s.transports.includes(transport)) return `scenario is ${s.transports.join('/')} only`;
  if (s.when && !s.when(client)) return `not supported by ${client.name}`;
  return false;
}

/** scenarioURL is the socket base scenario s connects to. */
export function scenarioURL(env, s) {
  return s.limited ? env.limitedURL : env.url;
}

/** The phoenix.js Socket option `transport` for the scenario's transport. */
export function transportOption({ transport, client, env }) {
  const option = { websocket: env.WebSocket, longpoll: client.lib.LongPoll }[transport];
  // phoenix.js falls back to the global WebSocket when `transport` is
  // undefined, which would turn a long-poll run into a WebSocket one.
  if (typeof option !== 'function') throw new Error(`${client.name}: no ${transport} transport constructor`);
  return option;
}

/**
 * settled waits until the server's nodes have no subscription to their
 * PubSub still unconfirmed (GET /pubsub/pending is 0). A join reply does not
 * wait for the broker, so on a cluster a broadcast from another node right
 * after a join may precede the node's subscription; scenarios that
 * broadcast across sockets call this after their joins. One request when
 * the server has no PubSub.
 */
export async function settled(ctx) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const res = await fetch(`${ctx.env.http}/pubsub/pending`);
    const pending = Number(await res.text());
    if (res.ok && pending === 0) return;
    if (Date.now() > deadline) throw new Error(`PubSub subscriptions still pending after ${WAIT_MS} ms: ${pending}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** uniq returns a fresh topic under prefix (scenarios and runs overlap). */
const runID = Math.random().toString(36).slice(2, 8);
let seq = 0;
export function uniq(prefix) {
  seq += 1;
  return `${prefix}:${runID}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
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
export function openSocket(t, ctx, opts = {}) {
  const socket = new ctx.client.lib.Socket(ctx.url, {
    ...FAST,
    transport: transportOption(ctx),
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

/** postBroadcast calls the server's POST /broadcast (reg.Broadcast). */
export async function postBroadcast({ env }, topic, event, payload) {
  const res = await fetch(`${env.http}/broadcast?topic=${encodeURIComponent(topic)}&event=${encodeURIComponent(event)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`POST /broadcast: ${res.status} ${await res.text()}`);
  return res.json();
}
