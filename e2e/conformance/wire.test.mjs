// Wire-level checks with a bare WebSocket, for orderings and refs the
// official clients hide (they drop frames whose join_ref is outdated):
// duplicate join, stale join_ref, unmatched topic on a non-join event, leave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { URL, TRANSPORTS, rawSocket, uniq, show } from './lib.mjs';

const ok = (response = {}) => ({ status: 'ok', response });
const wsOnly = { timeout: 15000, skip: !TRANSPORTS.includes('websocket') && 'websocket not in SEANCE_TRANSPORTS' };

/** joinedRoom opens a raw socket and joins a fresh room topic (join_ref "1"). */
async function joinedRoom(t) {
  const raw = await rawSocket(t, URL);
  const topic = uniq('room');
  raw.send(['1', '1', topic, 'phx_join', {}]);
  await raw.frames.next((f) => f[1] === '1', 'join reply');
  return { ...raw, topic };
}

/** unmatched is the server's answer to a message on a topic not joined. */
const unmatched = (ref, topic) => [null, ref, topic, 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }];

test('duplicate join: new join reply first, then phx_close with the OLD join_ref', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['1', '1', topic, 'phx_join', {}]);
  assert.deepEqual(await frames.next(), ['1', '1', topic, 'phx_reply', ok({ topic, identity: null })]);
  send(['2', '2', topic, 'phx_join', {}]);
  const a = await frames.next(() => true, 'the reply to the second join');
  const b = await frames.next(() => true, 'phx_close of the first join');
  assert.deepEqual([a, b], [
    ['2', '2', topic, 'phx_reply', ok({ topic, identity: null })],
    ['1', '1', topic, 'phx_close', {}],
  ]);
  // The new channel works.
  send(['2', '3', topic, 'echo', { n: 1 }]);
  assert.deepEqual(await frames.next(), ['2', '3', topic, 'phx_reply', ok({ n: 1 })]);
});

test('stale join_ref: the message is dropped without a reply', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['1', '1', topic, 'phx_join', {}]);
  await frames.next((f) => f[1] === '1', 'first join reply');
  send(['2', '2', topic, 'phx_join', {}]);
  await frames.next((f) => f[3] === 'phx_close', 'phx_close of the first join');
  send(['1', '3', topic, 'echo', { stale: true }]); // join_ref of the replaced channel
  send([null, '4', 'phoenix', 'heartbeat', {}]);
  // Frames are answered in order: if the stale echo were answered, its
  // reply would come before the heartbeat's.
  assert.deepEqual(await frames.next(), [null, '4', 'phoenix', 'phx_reply', ok()]);
  // A null join_ref is accepted on non-join messages.
  send([null, '5', topic, 'echo', { fresh: true }]);
  assert.deepEqual(await frames.next(), ['2', '5', topic, 'phx_reply', ok({ fresh: true })]);
});

test('event on a topic never joined: unmatched topic with a null join_ref', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['9', '10', topic, 'echo', {}]);
  assert.deepEqual(await frames.next(), unmatched('10', topic));
});

test('leave: ok reply, then phx_close, then the topic is unmatched', wsOnly, async (t) => {
  const { frames, send, topic } = await joinedRoom(t);
  send(['1', '2', topic, 'phx_leave', {}]);
  const a = await frames.next();
  const b = await frames.next();
  assert.deepEqual([a, b], [
    ['1', '2', topic, 'phx_reply', ok()],
    ['1', '1', topic, 'phx_close', {}],
  ], show([a, b]));
  send(['1', '3', topic, 'echo', {}]);
  assert.deepEqual(await frames.next(), unmatched('3', topic));
});

test('server push after a join keeps the join_ref as sent (not renumbered)', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['77', '5', topic, 'phx_join', {}]); // join_ref need not equal ref
  assert.deepEqual(await frames.next(), ['77', '5', topic, 'phx_reply', ok({ topic, identity: null })]);
  send(['77', '6', topic, 'push_me', { p: 1 }]);
  const got = [await frames.next(), await frames.next()];
  assert.deepEqual(got.find((f) => f[3] === 'pushed'), ['77', null, topic, 'pushed', { p: 1 }], show(got));
  assert.deepEqual(got.find((f) => f[3] === 'phx_reply'), ['77', '6', topic, 'phx_reply', ok()], show(got));
});

test('leave with a stale join_ref is ignored; leave of an unjoined topic gets ok', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['1', '1', topic, 'phx_join', {}]);
  await frames.next((f) => f[1] === '1', 'first join reply');
  send(['2', '2', topic, 'phx_join', {}]);
  await frames.next((f) => f[3] === 'phx_close', 'phx_close of the first join');
  send(['1', '3', topic, 'phx_leave', {}]); // stale: must not close channel "2"
  send([null, '4', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await frames.next(), [null, '4', 'phoenix', 'phx_reply', ok()]);
  const other = uniq('room');
  send(['5', '6', other, 'phx_leave', {}]);
  assert.deepEqual(await frames.next(), ['5', '6', other, 'phx_reply', ok()]);
  send(['2', '7', topic, 'echo', { alive: true }]);
  assert.deepEqual(await frames.next(), ['2', '7', topic, 'phx_reply', ok({ alive: true })]);
});

test('crash: phx_error {reason: channel_crash} with ref = join_ref, then the topic is unmatched', wsOnly, async (t) => {
  const { frames, send, topic } = await joinedRoom(t);
  send(['1', '2', topic, 'crash', {}]);
  assert.deepEqual(await frames.next(), ['1', '1', topic, 'phx_error', { reason: 'channel_crash' }]);
  send(['1', '3', topic, 'echo', {}]);
  assert.deepEqual(await frames.next(), unmatched('3', topic));
});

test('server close: reply, phx_close with ref = join_ref, then the topic is unmatched', wsOnly, async (t) => {
  const { frames, send, topic } = await joinedRoom(t);
  send(['1', '2', topic, 'close_me', {}]);
  const got = [await frames.next(), await frames.next()];
  assert.deepEqual(got, [['1', '2', topic, 'phx_reply', ok()], ['1', '1', topic, 'phx_close', {}]]);
  send(['1', '3', topic, 'echo', {}]);
  assert.deepEqual(await frames.next(), unmatched('3', topic));
});

test('join, leave, join in one burst (buffered frames after a reconnect)', wsOnly, async (t) => {
  const { frames, send } = await rawSocket(t, URL);
  const topic = uniq('room');
  send(['1', '1', topic, 'phx_join', {}]);
  send(['1', '2', topic, 'phx_leave', {}]);
  send(['3', '3', topic, 'phx_join', {}]);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await frames.next(() => true, `frame ${i + 1} of 4`));
  const joined = ok({ topic, identity: null });
  assert.deepEqual(got[0], ['1', '1', topic, 'phx_reply', joined]);
  const rest = got.slice(1);
  // The new join and the old channel's leave run concurrently (as in
  // Phoenix), but the leave reply precedes that channel's phx_close.
  const leave = rest.findIndex((f) => f[1] === '2');
  const close = rest.findIndex((f) => f[3] === 'phx_close');
  assert.ok(leave >= 0 && close > leave, show(got));
  assert.deepEqual(rest[leave], ['1', '2', topic, 'phx_reply', ok()]);
  assert.deepEqual(rest[close], ['1', '1', topic, 'phx_close', {}]);
  assert.deepEqual(rest.find((f) => f[1] === '3'), ['3', '3', topic, 'phx_reply', joined], show(got));
  send(['3', '4', topic, 'echo', { n: 2 }]);
  assert.deepEqual(await frames.next(), ['3', '4', topic, 'phx_reply', ok({ n: 2 })]);
});
