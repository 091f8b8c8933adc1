// phoenix.js longPollFallbackMs: with the WebSocket path blocked (the server
// refuses the upgrade at /blocked/socket, as a proxy without WebSocket
// support would), phoenix 1.8.16 falls back to long-poll by itself, and the
// LiveState flow of phx-live-state 0.12.3 works over it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import * as phoenix from 'phoenix';
import { FAST, Recorder, reply, uniq } from './lib.mjs';

console.debug = () => {};
console.log = () => {};

const URL = process.env.SEANCE_BLOCKED_URL;
if (!URL) throw new Error('SEANCE_BLOCKED_URL is not set: run the suite through "go test ./e2e/"');
const bundles = JSON.parse(process.env.SEANCE_LVS_BUNDLES || '[]');
const lvs = bundles.find((b) => b.name.endsWith('0.12.3'));
if (!lvs) throw new Error('SEANCE_LVS_BUNDLES lacks phx-live-state 0.12.3');

// The primary transport is the real WebSocket client; the fallback is the
// library's LongPoll (phoenix.js picks it when longPollFallbackMs is set).
// The refused upgrade makes phoenix.js fall back at once; the threshold is
// the fallback's other trigger, a WebSocket that neither opens nor fails
// within it: kept well above the refusal's time on a loaded machine, so that
// the test sees the refusal (at 300 ms a busy CI machine fell back on the
// timer first, with no error to see).
const FALLBACK = { ...FAST, transport: WebSocket, longPollFallbackMs: 3000 };

test('phoenix 1.8.16 falls back to long-poll and its channel works', { timeout: 15000 }, async (t) => {
  const socket = new phoenix.Socket(URL, { ...FALLBACK, logger: () => {} });
  const errors = new Recorder();
  socket.onError((e) => errors.push(e));
  t.after(() => socket.disconnect());
  socket.connect();
  const ch = socket.channel(uniq('room'), {});
  assert.equal((await reply(ch.join())).status, 'ok');
  assert.equal(socket.transport, phoenix.LongPoll, 'the socket ended up on long-poll');
  assert.ok(errors.all().length >= 1, 'the WebSocket attempt failed first');
  assert.deepEqual(await reply(ch.push('echo', { via: 'fallback' })), { status: 'ok', response: { via: 'fallback' } });
});

test('phx-live-state 0.12.3 over the long-poll fallback', { timeout: 15000 }, async (t) => {
  const { LiveState, LongPoll } = await import(lvs.path);
  const ls = new LiveState({
    url: URL,
    topic: uniq('counter'),
    params: { start: 3 },
    socketOptions: { ...FALLBACK, logger: () => {} },
  });
  const changes = new Recorder();
  ls.addEventListener('livestate-change', (e) => changes.push(e.detail));
  t.after(() => ls.disconnect());
  ls.connect();
  assert.deepEqual(await changes.next((c) => c.version === 0, 'state v0'), { state: { count: 3 }, version: 0 });
  ls.pushEvent('increment', { by: 4 });
  assert.deepEqual(await changes.next((c) => c.version === 1, 'state v1'), { state: { count: 7 }, version: 1 });
  assert.equal(ls.socket.transport, LongPoll, 'the LiveState socket ended up on long-poll');
});
