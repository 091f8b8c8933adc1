// LiveState scenarios with the real phx-live-state `LiveState` class (0.12.3
// on phoenix 1.8, 0.11.2 on its own phoenix 1.6): state:change on join,
// patches and versions, version wrap, refresh after a gap, error pushes, reply
// events, authorization and broadcasts. Environment-agnostic (see
// ../core.mjs): Node runs them from ../livestate.test.mjs, Chromium from
// ../../browser/runner.mjs. A client's lib exports LiveState (and LongPoll).
import assert from 'node:assert/strict';
import {
  transportOption, Recorder, uniq, show, reply, postBroadcast, FAST,
} from '../core.mjs';

/** A padding note makes counter updates travel as patches, not full states, with CompactWire. */
const NOTE = 'padding that makes a full state longer than a one-operation patch';

/**
 * live connects a LiveState to topic, records every LiveState event and the
 * socket's raw frames, and disconnects when the test ends.
 */
function live(ctx, topic, params = {}, extraEvents = []) {
  const ls = new ctx.client.lib.LiveState({
    url: ctx.url,
    topic,
    params,
    socketOptions: { ...FAST, transport: transportOption(ctx), logger: () => {} },
  });
  const events = new Recorder();
  for (const type of ['livestate-change', 'livestate-patch', 'livestate-error', ...extraEvents]) {
    ls.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
  }
  const frames = new Recorder();
  ls.socket.onMessage(frames.push);
  ctx.t.after(() => ls.disconnect());
  ls.connect();
  return { ls, events, frames };
}

const isChange = (e) => e.type === 'livestate-change';
const changeAt = (version) => (e) => isChange(e) && e.detail.version === version;

async function nextChange(events, version) {
  return (await events.next(changeAt(version), `livestate-change v${version}`)).detail;
}

/** stateFrames are the state:change / state:patch frames received. */
const stateFrames = (frames) => frames.all((m) => m.event === 'state:change' || m.event === 'state:patch');

/**
 * liveResume connects a LiveState to topic on the server's /resume/socket
 * as user "ann" with a client_id connect param, as the README's params
 * function does in a browser tab.
 */
function liveResume(ctx, topic, clientId) {
  const url = `${ctx.env.http.replace(/^http/, 'ws')}/resume/socket`;
  const ls = new ctx.client.lib.LiveState({
    url,
    topic,
    params: {},
    socketOptions: {
      ...FAST, transport: transportOption(ctx), logger: () => {}, params: () => ({ user: 'ann', client_id: clientId }),
    },
  });
  const events = new Recorder();
  for (const type of ['livestate-change', 'livestate-error']) {
    ls.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
  }
  const frames = new Recorder();
  ls.socket.onMessage(frames.push);
  ctx.t.after(() => ls.disconnect());
  ls.connect();
  return { ls, events, frames };
}

/** cutConnection closes the client's WebSocket without a close frame and refuses it for holdMs. */
async function cutConnection(ctx, clientId, holdMs) {
  const res = await fetch(`${ctx.env.http}/resume/cut?client_id=${encodeURIComponent(clientId)}&hold=${holdMs}`, { method: 'POST' });
  if (!res.ok) throw new Error(`POST /resume/cut: ${res.status}`);
  return (await res.json()).cut;
}

async function initsOf(ctx, topic) {
  const res = await fetch(`${ctx.env.http}/resume/inits?topic=${encodeURIComponent(topic)}`);
  return (await res.json()).inits;
}

/** counts a LiveState up to n with increments, waiting for each version. */
async function countTo(ls, events, n) {
  for (let i = 1; i <= n; i++) ls.pushEvent('increment', {});
  return nextChange(events, n);
}

/** scenarios of the LiveState suite, run by ../livestate.test.mjs and the browser runner. */
export const scenarios = [
  {
    name: 'shared topic: three clients (on three nodes in the cluster run) push at once and end with one state',
    async run(ctx) {
      const topic = uniq('shared');
      const clients = [];
      for (let i = 0; i < 3; i++) {
        const c = live(ctx, topic);
        assert.deepEqual(await nextChange(c.events, 0), { state: { count: 0 }, version: 0 });
        clients.push(c);
      }
      const n = 5;
      for (let i = 0; i < n; i++) for (const c of clients) c.ls.pushEvent('increment', {});
      for (const c of clients) {
        assert.deepEqual(await nextChange(c.events, 3 * n), { state: { count: 3 * n }, version: 3 * n });
        const versions = c.events.all((e) => e.type === 'livestate-patch').map((e) => e.detail.version);
        assert.deepEqual(versions, Array.from({ length: 3 * n }, (_, i) => i + 1), 'every version once, in order');
        assert.deepEqual(c.ls.state, { count: 3 * n });
      }
    },
  },
  {
    name: 'state:change v0 on join, join params reach Init',
    async run(ctx) {
      const { events, frames } = live(ctx, uniq('counter'), { start: 5 });
      assert.deepEqual(await nextChange(events, 0), { state: { count: 5 }, version: 0 });
      const joinReply = frames.all((m) => m.event === 'phx_reply')[0];
      assert.deepEqual(joinReply.payload, { status: 'ok', response: {} }, 'join reply comes first and is empty');
    },
  },
  {
    name: 'increment: new state at version 1 (change or patch)',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('counter'), { start: 5 });
      await nextChange(events, 0);
      ls.pushEvent('increment', { by: 2 });
      assert.deepEqual(await nextChange(events, 1), { state: { count: 7 }, version: 1 });
      assert.deepEqual(ls.state, { count: 7 });
    },
  },
  {
    name: 'increment on a larger state: livestate-patch then livestate-change',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('counter'), { start: 1, note: NOTE });
      await nextChange(events, 0);
      ls.pushEvent('increment', {});
      const patch = await events.next((e) => e.type === 'livestate-patch', 'livestate-patch');
      assert.deepEqual(patch.detail, { patch: [{ op: 'replace', path: '/count', value: 2 }], version: 1 });
      assert.deepEqual(await nextChange(events, 1), { state: { count: 2, note: NOTE }, version: 1 });
    },
  },
  {
    name: 'every update is a livestate-patch: counter 0 to 10 gets 10 patches',
    async run(ctx) {
      const { ls, events, frames } = live(ctx, uniq('counter'));
      await nextChange(events, 0);
      const n = 10;
      for (let i = 1; i <= n; i++) ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, n), { state: { count: n }, version: n });
      const patches = events.all((e) => e.type === 'livestate-patch');
      assert.deepEqual(patches.map((e) => e.detail.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], show(patches));
      for (const p of patches) {
        assert.deepEqual(p.detail.patch, [{ op: 'replace', path: '/count', value: p.detail.version }]);
      }
      assert.deepEqual(stateFrames(frames).map((m) => m.event),
        ['state:change', ...Array(n).fill('state:patch')], 'only the join sends a state:change');
      assert.deepEqual(ls.state, { count: n });
    },
  },
  {
    name: 'noop: an empty livestate-patch with the next version (as live_state)',
    async run(ctx) {
      const { ls, events, frames } = live(ctx, uniq('counter'));
      await nextChange(events, 0);
      // One at a time: phoenix 1.6's long-poll sends each push in its own
      // POST, which may overtake the previous one.
      ls.pushEvent('noop', {});
      assert.deepEqual(await nextChange(events, 1), { state: { count: 0 }, version: 1 });
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 2), { state: { count: 1 }, version: 2 });
      const patches = events.all((e) => e.type === 'livestate-patch').map((e) => e.detail);
      assert.deepEqual(patches, [
        { patch: [], version: 1 },
        { patch: [{ op: 'replace', path: '/count', value: 1 }], version: 2 },
      ]);
      assert.deepEqual(stateFrames(frames).map((m) => m.payload.version), [0, 1, 2], show(stateFrames(frames)));
    },
  },
  {
    name: 'CompactWire: noop sends nothing, the next update is still version 1',
    async run(ctx) {
      const { ls, events, frames } = live(ctx, uniq('compact'));
      await nextChange(events, 0);
      ls.pushEvent('noop', {});
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 1), { state: { count: 1 }, version: 1 });
      assert.deepEqual(stateFrames(frames).map((m) => m.payload.version), [0, 1], show(stateFrames(frames)));
      // a patch as large as the tiny state travels as a whole state: no livestate-patch
      assert.deepEqual(events.all((e) => e.type === 'livestate-patch'), []);
    },
  },
  {
    name: 'reply events arrive in order before the state change',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('counter'), {}, ['first', 'second']);
      await nextChange(events, 0);
      ls.pushEvent('emit_two', {});
      const notPatch = (e) => e.type !== 'livestate-patch';
      const seq = [
        await events.next(notPatch, 'first'),
        await events.next(notPatch, 'second'),
        await events.next(notPatch, 'the change'),
      ];
      assert.deepEqual(seq, [
        { type: 'first', detail: { n: 1 } },
        { type: 'second', detail: { n: 2 } },
        { type: 'livestate-change', detail: { state: { count: 1 }, version: 1 } },
      ]);
    },
  },
  {
    name: 'reply_ok: the push gets an ok reply',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('counter'), { start: 10 });
      await nextChange(events, 0);
      const r = await reply(ls.channel.push('lvs_evt:reply_ok', {}));
      assert.deepEqual(r, { status: 'ok', response: { count: 11 } });
      assert.deepEqual(await nextChange(events, 1), { state: { count: 11 }, version: 1 });
    },
  },
  {
    name: 'version wraps after MaxVersion 3: 1,2,3,0,1',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('wrap'));
      await nextChange(events, 0);
      const seen = [];
      for (let i = 1; i <= 5; i++) {
        ls.pushEvent('increment', {});
        const c = (await events.next((e) => isChange(e), `change #${i}`)).detail;
        seen.push([c.version, c.state.count]);
      }
      assert.deepEqual(seen, [[1, 1], [2, 2], [3, 3], [0, 4], [1, 5]]);
    },
  },
  {
    name: 'gap: the client sends lvs_refresh and gets the current state and version',
    async run(ctx) {
      const { ls, events, frames } = live(ctx, uniq('gap'), { note: NOTE });
      await nextChange(events, 0);
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 1), { state: { count: 1, note: NOTE }, version: 1 });
      ls.pushEvent('increment', {}); // real version 2, sent as 3: a gap
      const gap = await events.next((e) => e.type === 'livestate-patch' && e.detail.version === 3, 'the patch with a gap');
      assert.equal(gap.detail.version, 3);
      // The only state:change after the join is the answer to lvs_refresh.
      assert.deepEqual(await nextChange(events, 2), { state: { count: 2, note: NOTE }, version: 2 });
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 3), { state: { count: 3, note: NOTE }, version: 3 });
      assert.deepEqual(stateFrames(frames).map((m) => [m.event, m.payload.version]), [
        ['state:change', 0], ['state:patch', 1], ['state:patch', 3], ['state:change', 2], ['state:patch', 3],
      ]);
    },
  },
  {
    name: 'gap on a tiny state: lvs_refresh, then the client equals the server',
    async run(ctx) {
      const { ls, events, frames } = live(ctx, uniq('gap'));
      await nextChange(events, 0);
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 1), { state: { count: 1 }, version: 1 });
      ls.pushEvent('increment', {}); // real version 2, sent as 3: a gap
      await events.next((e) => e.type === 'livestate-patch' && e.detail.version === 3, 'the patch with a gap');
      assert.deepEqual(await nextChange(events, 2), { state: { count: 2 }, version: 2 });
      // the server's own count, from its reply, is the client's
      const r = await reply(ls.channel.push('lvs_evt:reply_ok', {}));
      assert.deepEqual(r, { status: 'ok', response: { count: 3 } });
      assert.deepEqual(await nextChange(events, 3), { state: { count: 3 }, version: 3 });
      assert.deepEqual(ls.state, { count: r.response.count });
      assert.deepEqual(stateFrames(frames).map((m) => [m.event, m.payload.version]), [
        ['state:change', 0], ['state:patch', 1], ['state:patch', 3], ['state:change', 2], ['state:patch', 3],
      ]);
    },
  },
  {
    name: 'handler error: livestate-error with {message}',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('counter'));
      await nextChange(events, 0);
      ls.pushEvent('fail', {});
      const err = await events.next((e) => e.type === 'livestate-error', 'livestate-error');
      assert.deepEqual(err.detail, { message: 'failed on purpose' });
    },
  },
  {
    name: 'init error: the join succeeds, then livestate-error {message: "you stink"}',
    async run(ctx) {
      const { events, frames } = live(ctx, uniq('initerror'));
      const err = await events.next((e) => e.type === 'livestate-error', 'livestate-error');
      assert.deepEqual(err.detail, { message: 'you stink' });
      const join = frames.all((m) => m.event === 'phx_reply')[0];
      assert.equal(join.payload.status, 'ok');
      assert.deepEqual(events.all(isChange), []);
    },
  },
  {
    name: 'authorize refusal: livestate-error "channel join error"',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('secret'), { password: 'wrong' });
      const err = await events.next((e) => e.type === 'livestate-error', 'livestate-error');
      ls.disconnect(); // stop the rejoin attempts
      assert.deepEqual(err.detail, { type: 'channel join error', message: 'Go away!' });
    },
  },
  {
    name: 'authorize accepted with the right password',
    async run(ctx) {
      const { events } = live(ctx, uniq('secret'), { password: 'secret' });
      assert.deepEqual(await nextChange(events, 0), { state: { authorized: true }, version: 0 });
    },
  },
  {
    name: 'reg.Broadcast from Go reaches HandleMessage',
    async run(ctx) {
      const topic = uniq('counter');
      const { events } = live(ctx, topic, { start: 1 });
      await nextChange(events, 0);
      const { reached, nodes } = await postBroadcast(ctx, topic, 'bump', { by: 10 });
      // reached counts the channels of the node that broadcast; in a cluster
      // the subscriber may be on another one.
      if (!(nodes > 1)) assert.equal(reached, 1);
      assert.deepEqual(await nextChange(events, 1), { state: { count: 11 }, version: 1 });
    },
  },
  {
    name: 'todos: add, toggle, delete produce patches the client applies',
    async run(ctx) {
      const { ls, events } = live(ctx, uniq('todo'));
      assert.deepEqual(await nextChange(events, 0), { state: { todos: [] }, version: 0 });
      const model = [];
      let version = 0;
      const step = async (event, payload, apply) => {
        apply();
        ls.pushEvent(event, payload);
        version += 1;
        const c = await nextChange(events, version);
        assert.deepEqual(c.state, { todos: model }, `after ${event} ${show(payload)}`);
      };
      const title = (n) => `todo number ${n} with a title long enough to matter`;
      for (let id = 1; id <= 4; id++) {
        await step('add', { title: title(id) }, () => model.push({ id, title: title(id), done: false }));
      }
      await step('toggle', { id: 2 }, () => { model[1].done = true; });
      await step('delete', { id: 1 }, () => { model.splice(0, 1); });
      await step('toggle', { id: 4 }, () => { model[2].done = true; });
      await step('delete', { id: 3 }, () => { model.splice(1, 1); });
      await step('add', { title: title(5) }, () => model.push({ id: 5, title: title(5), done: false }));
      const patches = events.all((e) => e.type === 'livestate-patch');
      assert.ok(patches.length >= 3, `updates travelled as patches: ${show(patches)}`);
      assert.deepEqual(ls.state, { todos: model });
    },
  },
  {
    // The server keeps the channel 2 s after its connection drops (resume:*
    // has ResumeGrace 2 s); the rejoin of the same user and client_id
    // continues it without Init. Over long-poll the lab ends the session on
    // the server without a leave, as a lost connection does.
    name: 'resume: a connection cut at 7 comes back at 7 and keeps counting, Init ran once',
    transports: ['websocket', 'longpoll'],
    timeout: 20000,
    async run(ctx) {
      const topic = uniq('resume');
      const id = uniq('tab');
      const { ls, events, frames } = liveResume(ctx, topic, id);
      await nextChange(events, 0);
      assert.deepEqual(await countTo(ls, events, 7), { state: { count: 7 }, version: 7 });
      const joinsBefore = frames.all((m) => m.event === 'phx_reply' && m.ref === m.join_ref).length;
      // Over long-poll the cut also refuses the next polls for a moment, as a
      // lost network does: phoenix 1.6/1.7's LongPoll answers a bare 410 by
      // carrying on with a new session without rejoining (with Phoenix
      // servers too), a failed poll by reconnecting and rejoining.
      const hold = ctx.transport === 'longpoll' ? 300 : 0;
      assert.equal(await cutConnection(ctx, id, hold), 1, 'one connection cut');
      // phoenix.js reconnects and rejoins: the kept state at its version.
      assert.deepEqual(await nextChange(events, 7), { state: { count: 7 }, version: 7 });
      const rejoined = frames.all((m) => m.event === 'phx_reply' && m.ref === m.join_ref).length;
      assert.ok(rejoined > joinsBefore, 'the client rejoined on a new connection');
      const changes = stateFrames(frames).filter((m) => m.event === 'state:change').map((m) => m.payload.version);
      assert.deepEqual(changes, [0, 7], 'the rejoin got a state:change at version 7, no fresh v0');
      ls.pushEvent('increment', {});
      assert.deepEqual(await nextChange(events, 8), { state: { count: 8 }, version: 8 });
      assert.deepEqual(ls.state, { count: 8 });
      assert.equal(await initsOf(ctx, topic), 1, 'Init ran once');
    },
  },
  {
    name: 'resume: a client back after the grace period gets a fresh Init at version 0',
    transports: ['websocket', 'longpoll'],
    timeout: 20000,
    async run(ctx) {
      const topic = uniq('resume');
      const id = uniq('tab');
      const { ls, events } = liveResume(ctx, topic, id);
      await nextChange(events, 0);
      await countTo(ls, events, 3);
      // Refused for 3 s: longer than the 2 s grace period.
      assert.equal(await cutConnection(ctx, id, 3000), 1);
      const fresh = (await events.next(changeAt(0), 'livestate-change v0 after the grace period', 10000)).detail;
      assert.deepEqual(fresh, { state: { count: 0 }, version: 0 });
      assert.equal(await initsOf(ctx, topic), 2, 'Init ran again');
    },
  },
];
