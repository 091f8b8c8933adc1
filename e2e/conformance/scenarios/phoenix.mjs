// Phoenix Channels scenarios with the official phoenix.js clients (1.7.21
// and 1.8.16): joins, replies, pushes, broadcasts, binary frames, crashes,
// server close, connect params and auth tokens. Environment-agnostic (see
// ../core.mjs): Node runs them from ../phoenix.test.mjs, Chromium from
// ../../browser/runner.mjs.
import assert from 'node:assert/strict';
import {
  openSocket, reply, uniq, bytes, show, FAST, Recorder, transportOption, settled,
} from '../core.mjs';

/** joined opens a socket and joins a fresh room, asserting the ok reply. */
async function joined(t, ctx, topic = uniq('room'), opts = {}) {
  const conn = openSocket(t, ctx, opts);
  const channel = conn.socket.channel(topic, {});
  const r = await reply(channel.join());
  assert.equal(r.status, 'ok', `join ${topic}: ${show(r)}`);
  await settled(ctx);
  return { ...conn, channel, topic, join: r };
}

/** frameFor waits for the raw frame answering ref. */
function frameFor(frames, ref, what) {
  return frames.next((m) => m.ref === ref, what ?? `the frame with ref ${ref}`);
}

/**
 * trackedChannel connects a socket to /resume/socket with a client_id and
 * joins a tracked (history) topic the way the README shows: the join params
 * function adds the last position, the position follows the refs.
 */
function trackedChannel(ctx, topic, clientId) {
  const url = `${ctx.env.http.replace(/^http/, 'ws')}/resume/socket`;
  const socket = new ctx.client.lib.Socket(url, {
    ...FAST, transport: transportOption(ctx), params: { client_id: clientId },
  });
  ctx.t.after(() => socket.disconnect());
  let pos = null;
  const got = [];
  const recoveries = new Recorder();
  const channel = socket.channel(topic, () => (pos ? { recover: pos } : {}));
  channel.on('phx_position', ({ epoch, offset, recovered }) => {
    if (recovered !== undefined) recoveries.push(recovered);
    if (recovered !== true) pos = { epoch, offset };
  });
  channel.on('msg', (payload, ref) => {
    const i = ref.lastIndexOf(':');
    pos = { epoch: ref.slice(0, i), offset: Number(ref.slice(i + 1)) };
    got.push(payload.n);
  });
  socket.connect();
  return { socket, channel, got, recoveries, position: () => pos };
}

async function publishRange(ctx, topic, from, to) {
  const res = await fetch(`${ctx.env.http}/history/publish?topic=${encodeURIComponent(topic)}&from=${from}&to=${to}`, { method: 'POST' });
  if (!res.ok) throw new Error(`POST /history/publish: ${res.status}`);
}

async function until(cond, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** scenarios of the Phoenix Channels suite, run by ../phoenix.test.mjs and the browser runner. */
export const scenarios = [
  {
    name: 'join ok carries the join reply',
    async run(ctx) {
      const { channel, topic, join, frames } = await joined(ctx.t, ctx);
      assert.deepEqual(join.response, { topic, identity: null });
      const f = await frameFor(frames, channel.joinRef());
      assert.equal(f.join_ref, channel.joinRef(), 'join reply echoes the join_ref');
      assert.equal(f.event, 'phx_reply');
    },
  },
  {
    name: 'join error carries the channel reason',
    async run(ctx) {
      const { socket, frames } = openSocket(ctx.t, ctx);
      const channel = socket.channel(uniq('room'), { fail: true });
      const r = await reply(channel.join());
      channel.leave(); // stop the client's rejoin attempts
      assert.deepEqual(r, { status: 'error', response: { reason: 'denied' } });
      const f = await frameFor(frames, channel.joinRef());
      assert.equal(f.join_ref, channel.joinRef(), 'refused join echoes the join_ref');
    },
  },
  {
    name: 'unmatched topic: error reply with a null join_ref',
    async run(ctx) {
      const { socket, frames } = openSocket(ctx.t, ctx);
      const channel = socket.channel('nope:nothing-routes-here', {});
      const r = await reply(channel.join());
      const ref = channel.joinRef();
      channel.leave();
      assert.deepEqual(r, { status: 'error', response: { reason: 'unmatched topic' } });
      const f = await frameFor(frames, ref);
      assert.equal(f.join_ref, null, `unmatched topic reply must have join_ref null: ${show(f)}`);
    },
  },
  {
    name: 'duplicate Channel objects: the client leaves the first, the second joins',
    async run(ctx) {
      const first = await joined(ctx.t, ctx);
      const { socket, frames, topic } = first;
      const firstRef = first.channel.joinRef();
      let firstClosed = false;
      first.channel.onClose(() => { firstClosed = true; });
      const second = socket.channel(topic, {});
      const r = await reply(second.join());
      assert.equal(r.status, 'ok', show(r));
      assert.notEqual(second.joinRef(), firstRef);
      const close = await frames.next((m) => m.event === 'phx_close' && m.join_ref === firstRef, 'phx_close of the first channel');
      assert.equal(close.ref, firstRef, 'phx_close ref = join_ref');
      assert.ok(firstClosed, 'first channel closed');
      const echo = await reply(second.push('echo', { still: 'alive' }));
      assert.deepEqual(echo, { status: 'ok', response: { still: 'alive' } });
    },
  },
  {
    name: 'heartbeat gets a reply with a null join_ref',
    transports: ['websocket'], // phoenix.js sends no heartbeats over long-poll
    async run(ctx) {
      const { frames } = openSocket(ctx.t, ctx, { heartbeatIntervalMs: 40 });
      const isBeat = (m) => m.topic === 'phoenix' && m.event === 'phx_reply';
      const a = await frames.next(isBeat, 'a heartbeat reply');
      const b = await frames.next(isBeat, 'a second heartbeat reply');
      for (const f of [a, b]) {
        assert.equal(f.join_ref, null);
        assert.deepEqual(f.payload, { status: 'ok', response: {} });
      }
      assert.notEqual(a.ref, b.ref);
    },
  },
  {
    name: 'socket.ping round-trips through a heartbeat reply',
    async run(ctx) {
      const { socket } = openSocket(ctx.t, ctx);
      await new Promise((resolve) => socket.onOpen(resolve));
      for (let i = 0; i < 2; i++) {
        const rtt = await new Promise((resolve, reject) => {
          if (!socket.ping(resolve)) reject(new Error('ping: socket not connected'));
        });
        assert.equal(typeof rtt, 'number');
      }
    },
  },
  {
    name: 'push with an ok reply echoes refs and payload',
    async run(ctx) {
      const { channel, frames } = await joined(ctx.t, ctx);
      const payload = { a: 1, nested: { list: [1, 'two', null, true] }, s: 'héllo ✓' };
      const push = channel.push('echo', payload);
      const r = await reply(push);
      assert.deepEqual(r, { status: 'ok', response: payload });
      const f = await frameFor(frames, push.ref);
      assert.equal(f.join_ref, channel.joinRef());
    },
  },
  {
    name: 'push with an error reply',
    async run(ctx) {
      const { channel } = await joined(ctx.t, ctx);
      assert.deepEqual(await reply(channel.push('error_reply', {})), { status: 'error', response: { reason: 'nope' } });
    },
  },
  {
    name: 'broadcast reaches every socket on the topic',
    async run(ctx) {
      const a = await joined(ctx.t, ctx);
      const b = await joined(ctx.t, ctx, a.topic);
      const got = { a: [], b: [] };
      a.channel.on('shout', (p) => got.a.push(p));
      b.channel.on('shout', (p) => got.b.push(p));
      assert.equal((await reply(a.channel.push('shout', { msg: 'hi' }))).status, 'ok');
      for (const [name, conn] of [['a', a], ['b', b]]) {
        const f = await conn.frames.next((m) => m.event === 'shout', `shout on socket ${name}`);
        assert.equal(f.join_ref, null, 'broadcasts have a null join_ref');
        assert.equal(f.ref, null, 'broadcasts have a null ref');
        assert.deepEqual(f.payload, { msg: 'hi' });
      }
      assert.deepEqual(got, { a: [{ msg: 'hi' }], b: [{ msg: 'hi' }] });
    },
  },
  {
    name: 'binary: reply, push and broadcast as ArrayBuffers',
    transports: ['websocket'],
    async run(ctx) {
      const a = await joined(ctx.t, ctx);
      const b = await joined(ctx.t, ctx, a.topic);
      const data = new Uint8Array([0, 1, 2, 250, 255]);

      const echo = await reply(a.channel.push('bin_echo', data.slice().buffer));
      assert.equal(echo.status, 'ok', show(echo));
      assert.ok(echo.response instanceof ArrayBuffer, `binary reply is an ArrayBuffer: ${show(echo)}`);
      assert.deepEqual(bytes(echo.response), [...data]);

      const pushed = new Promise((resolve) => a.channel.on('bin_pushed', resolve));
      assert.equal((await reply(a.channel.push('bin_push', data.slice().buffer))).status, 'ok');
      const p = await pushed;
      assert.ok(p instanceof ArrayBuffer);
      assert.deepEqual(bytes(p), [...data].reverse());
      const pf = await a.frames.next((m) => m.event === 'bin_pushed', 'bin_pushed frame');
      assert.equal(pf.join_ref, a.channel.joinRef());
      assert.equal(pf.ref, null);

      const bc = new Promise((resolve) => b.channel.on('bin_bc', resolve));
      assert.equal((await reply(a.channel.push('bin_broadcast', data.slice().buffer))).status, 'ok');
      const got = await bc;
      assert.ok(got instanceof ArrayBuffer);
      assert.deepEqual(bytes(got), [...data]);
      const bf = await b.frames.next((m) => m.event === 'bin_bc', 'bin_bc frame');
      assert.equal(bf.join_ref, null);
      assert.equal(bf.ref, null);
    },
  },
  {
    name: 'server push carries the join_ref and a null ref',
    async run(ctx) {
      const { channel, frames } = await joined(ctx.t, ctx);
      const got = new Promise((resolve) => channel.on('pushed', resolve));
      assert.equal((await reply(channel.push('push_me', { x: 1 }))).status, 'ok');
      assert.deepEqual(await got, { x: 1 });
      const f = await frames.next((m) => m.event === 'pushed', 'pushed frame');
      assert.equal(f.join_ref, channel.joinRef());
      assert.equal(f.ref, null);
    },
  },
  {
    name: 'server close: phx_close, onClose, no rejoin',
    async run(ctx) {
      const { socket, channel, frames, topic } = await joined(ctx.t, ctx);
      const joinRef = channel.joinRef();
      const closed = new Promise((resolve) => channel.onClose(resolve));
      let errored = false;
      channel.onError(() => { errored = true; });
      const r = await reply(channel.push('close_me', {}));
      assert.equal(r.status, 'ok', show(r));
      await closed;
      const f = await frames.next((m) => m.event === 'phx_close', 'phx_close');
      assert.equal(f.join_ref, joinRef);
      assert.equal(f.ref, joinRef, 'phx_close ref = join_ref');
      assert.equal(channel.state, 'closed');
      assert.ok(!socket.channels.includes(channel), 'the client dropped the channel, so it will not rejoin');
      assert.ok(!errored, 'no phx_error');
      // The server forgot the closed channel: joining the topic again is a fresh join.
      const probe = socket.channel(topic, {});
      const again = await reply(probe.join());
      assert.equal(again.status, 'ok', 'the topic can be joined again');
    },
  },
  {
    name: 'crash: phx_error, then the client rejoins by itself',
    async run(ctx) {
      const { socket, frames } = openSocket(ctx.t, ctx);
      const channel = socket.channel(uniq('room'), {});
      const joins = [];
      const errors = [];
      channel.onError((reason) => errors.push(reason));
      const first = new Promise((resolve) => channel.join().receive('ok', (resp) => { joins.push(channel.joinRef()); resolve(resp); }));
      await first;
      const firstRef = channel.joinRef();
      channel.push('crash', {});
      const err = await frames.next((m) => m.event === 'phx_error', 'phx_error');
      assert.equal(err.join_ref, firstRef);
      assert.equal(err.ref, firstRef, 'phx_error ref = join_ref');
      await frames.next((m) => m.event === 'phx_reply' && m.payload.status === 'ok' && m.join_ref !== firstRef && m.join_ref === m.ref,
        'the join reply of the automatic rejoin');
      assert.equal(errors.length, 1, 'onError fired once');
      assert.equal(joins.length, 2, `joined twice: ${show(joins)}`);
      assert.notEqual(joins[1], joins[0]);
      assert.deepEqual(await reply(channel.push('echo', { back: true })), { status: 'ok', response: { back: true } });
    },
  },
  {
    name: 'join crash: error reply "join crashed"',
    async run(ctx) {
      const { socket } = openSocket(ctx.t, ctx);
      const channel = socket.channel('room:crash_join', {});
      const r = await reply(channel.join());
      channel.leave();
      assert.deepEqual(r, { status: 'error', response: { reason: 'join crashed' } });
    },
  },
  {
    name: 'authToken reaches the connect hook',
    when: (client) => client.authToken,
    async run(ctx) {
      const { channel } = await joined(ctx.t, ctx, uniq('room'), { authToken: 'secret-token' });
      const r = await reply(channel.push('whoami', {}));
      assert.equal(r.status, 'ok');
      assert.equal(r.response.identity, 'secret-token');
    },
  },
  {
    name: 'wrong authToken: connection refused',
    when: (client) => client.authToken,
    async run(ctx) {
      const { socket, errors } = openSocket(ctx.t, ctx, { authToken: 'wrong-token', reconnectAfterMs: () => 10000 });
      await errors.next(() => true, 'socket onError');
      assert.ok(!socket.isConnected());
    },
  },
  {
    name: 'nested connect params reach whoami',
    async run(ctx) {
      const { channel } = await joined(ctx.t, ctx, uniq('room'), { params: { user: { name: 'x' }, plain: 'y' } });
      const r = await reply(channel.push('whoami', {}));
      assert.equal(r.status, 'ok');
      assert.deepEqual(r.response.identity, { name: 'x' });
      assert.deepEqual(r.response.params, { user: { name: 'x' }, plain: 'y', vsn: '2.0.0' });
    },
  },
  {
    name: 'connect hook refusal (params.reject=1)',
    async run(ctx) {
      const { socket, errors } = openSocket(ctx.t, ctx, { params: { reject: '1' }, reconnectAfterMs: () => 10000 });
      await errors.next(() => true, 'socket onError');
      assert.ok(!socket.isConnected());
    },
  },
  {
    name: 'too many channels joined (limit 2)',
    limited: true,
    async run(ctx) {
      const { socket } = openSocket(ctx.t, ctx);
      const results = [];
      const channels = [];
      for (let i = 0; i < 3; i++) {
        const ch = socket.channel(uniq('room'), {});
        channels.push(ch);
        results.push(await reply(ch.join()));
      }
      channels[2].leave();
      assert.deepEqual(results.map((r) => r.status), ['ok', 'ok', 'error']);
      assert.deepEqual(results[2].response, { reason: 'too many channels joined' });
    },
  },
  {
    name: 'history: cut off for a second while 1,000 broadcasts go out, the rejoin recovers all of them in order',
    timeout: 30000,
    async run(ctx) {
      const topic = uniq('hist');
      const id = uniq('tab');
      const { channel, got, recoveries, position } = trackedChannel(ctx, topic, id);
      assert.equal((await reply(channel.join())).status, 'ok');
      await until(() => position() !== null, 'the position after the join');
      await publishRange(ctx, topic, 1, 10);
      await until(() => got.length === 10, '10 live messages');
      const res = await fetch(`${ctx.env.http}/resume/cut?client_id=${encodeURIComponent(id)}&hold=1000`, { method: 'POST' });
      // Over long-poll nothing is cut: the client's requests are refused for
      // the second; the 1,000 messages end its held GET, the next one fails
      // and it reconnects.
      if (ctx.transport === 'websocket') assert.equal((await res.json()).cut, 1, 'one connection cut');
      await publishRange(ctx, topic, 11, 1010);
      assert.equal(await recoveries.next(() => true, 'the recovery answer', 15000), true, 'recovered');
      await publishRange(ctx, topic, 1011, 1020);
      await until(() => got.length >= 1020, '1,020 messages', 15000);
      assert.equal(got.length, 1020, 'no duplicates');
      assert.deepEqual(got, Array.from({ length: 1020 }, (_, i) => i + 1), 'all of them, in order');
      assert.equal(position().offset, 1020);
    },
  },
];
