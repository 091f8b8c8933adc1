// Presence scenarios with phoenix.js's own Presence (1.7.21 and 1.8.16)
// against the Go presence package: presence_state after the join,
// presence_diff for joins, updates and leaves, several metas per key, and
// the list a REST handler reads. Environment-agnostic (see ../core.mjs):
// Node runs them from ../presence.test.mjs.
import assert from 'node:assert/strict';
import {
  openSocket, reply, uniq, show, WAIT_MS,
} from '../core.mjs';

/** until polls cond (every 10 ms) until it is true, failing after WAIT_MS with what. */
async function until(cond, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * member opens a socket, joins topic as user/tab ("" user: a watcher, not
 * tracked) and attaches a phoenix.js Presence recording its callbacks.
 */
async function member(ctx, topic, user, tab, opts = {}) {
  const { socket } = openSocket(ctx.t, ctx, opts);
  const channel = socket.channel(topic, { user, tab });
  const presence = new ctx.client.lib.Presence(channel);
  const log = { joins: [], leaves: [], syncs: 0 };
  presence.onJoin((key, current, joined) => log.joins.push({ key, current, refs: joined.metas.map((m) => m.phx_ref) }));
  presence.onLeave((key, current, left) => log.leaves.push({ key, current, refs: left.metas.map((m) => m.phx_ref) }));
  presence.onSync(() => { log.syncs += 1; });
  const r = await reply(channel.join());
  assert.equal(r.status, 'ok', `join ${topic}: ${show(r)}`);
  return { socket, channel, presence, log };
}

/**
 * view renders a Presence list as {key: [tab, …]}, keys and tabs sorted: the
 * order of one key's metas is the order the server tracked them, and a
 * channel tracks in AfterJoin, which runs after the join reply — two tabs
 * joined one after the other may be tracked in either order (as with
 * Phoenix's after_join in two channel processes).
 */
function view(presence) {
  const out = {};
  presence.list((key, { metas }) => [key, metas.map((m) => m.tab).sort()])
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .forEach(([k, tabs]) => { out[k] = tabs; });
  return out;
}

async function listIs(p, want, who = 'the watcher') {
  await until(() => JSON.stringify(view(p.presence)) === JSON.stringify(want),
    () => `${who}'s list to be ${show(want)}; it is ${show(view(p.presence))}`);
}

export const scenarios = [
  {
    name: 'presence: three tabs, an update and leaves through list/onJoin/onLeave/onSync',
    async run(ctx) {
      const topic = uniq('presence');
      const w = await member(ctx, topic, '', '');
      await until(() => w.log.syncs > 0, () => 'the watcher\'s first onSync (presence_state)');
      assert.deepEqual(view(w.presence), {}, 'an empty room');

      const a1 = await member(ctx, topic, 'alice', 'a1');
      const a2 = await member(ctx, topic, 'alice', 'a2');
      const b = await member(ctx, topic, 'bob', 'b1');
      await listIs(w, { alice: ['a1', 'a2'], bob: ['b1'] });
      // Every member sees the same list, its own entries included.
      await listIs(a1, { alice: ['a1', 'a2'], bob: ['b1'] }, 'alice\'s first tab');
      await listIs(b, { alice: ['a1', 'a2'], bob: ['b1'] }, 'bob');
      const aliceJoins = w.log.joins.filter((j) => j.key === 'alice');
      // One onJoin per diff: the two tabs come in two diffs, or in one when
      // they joined within one batching interval (on a cluster, a node
      // relays another's changes together).
      assert.equal(new Set(aliceJoins.flatMap((j) => j.refs)).size, 2, `onJoin for each tab: ${show(w.log.joins)}`);
      assert.equal(aliceJoins[0].current, undefined, 'first tab: no current presence');
      if (aliceJoins.length === 2) assert.equal(aliceJoins[1].current.metas.length, 1, 'second tab: the first is current');
      const refs = w.presence.list((k, { metas }) => metas.map((m) => m.phx_ref)).flat();
      assert.equal(new Set(refs).size, 3, `unique phx_refs: ${show(refs)}`);

      // Update: the meta is replaced, phx_ref_prev names the old one.
      const oldRef = w.presence.list((k, { metas }) => (k === 'alice' ? metas : [])).flat()
        .find((m) => m.tab === 'a2').phx_ref;
      const u = await reply(a2.channel.push('update', { tab: 'a2-typing', typing: true }));
      assert.equal(u.status, 'ok', show(u));
      await listIs(w, { alice: ['a1', 'a2-typing'], bob: ['b1'] });
      const updated = w.presence.list((k, { metas }) => (k === 'alice' ? metas : [])).flat()
        .find((m) => m.tab === 'a2-typing');
      assert.equal(updated.phx_ref, u.response.ref);
      assert.equal(updated.phx_ref_prev, oldRef);
      assert.equal(updated.typing, true);

      // Leaves: bob leaves the channel, alice's first tab disconnects
      // (WebSocket) or leaves (long-poll).
      await reply(b.channel.leave());
      await listIs(w, { alice: ['a1', 'a2-typing'] });
      const bobLeave = w.log.leaves.find((l) => l.key === 'bob');
      assert.ok(bobLeave, `onLeave for bob: ${show(w.log.leaves)}`);
      assert.equal(bobLeave.current.metas.length, 0, 'bob has no meta left');
      if (ctx.transport === 'websocket') {
        a1.socket.disconnect();
      } else {
        // A long-poll client that goes away says nothing: the server
        // notices when the session's IdleTimeout reaps it (15 s by
        // default), too long for this scenario. Leave instead.
        await reply(a1.channel.leave());
      }
      await listIs(w, { alice: ['a2-typing'] });
      const aliceLeave = w.log.leaves.filter((l) => l.key === 'alice').at(-1);
      assert.equal(aliceLeave.current.metas.length, 1, 'alice is still there with one tab');
      await reply(a2.channel.push('untrack', {}));
      await listIs(w, {});
    },
  },
  {
    name: 'presence: the list a REST handler reads matches the clients\' list',
    async run(ctx) {
      const topic = uniq('presence');
      const w = await member(ctx, topic, '', '');
      await member(ctx, topic, 'carol', 'c1');
      await member(ctx, topic, 'dave', 'd1');
      await listIs(w, { carol: ['c1'], dave: ['d1'] });
      // In the cluster run the REST handler's node learns of a member on
      // another node through replication, which may trail the presence_diff
      // the watcher got: poll until it has both, then compare.
      const read = async () => (await fetch(`${ctx.env.http}/presence?topic=${encodeURIComponent(topic)}`)).json();
      let list = await read();
      for (const deadline = Date.now() + WAIT_MS; Object.keys(list).length < 2 && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 10));
        list = await read();
      }
      assert.deepEqual(Object.keys(list).sort(), ['carol', 'dave']);
      assert.deepEqual(list.carol.metas.map((m) => m.phx_ref),
        w.presence.list((k, { metas }) => (k === 'carol' ? metas.map((m) => m.phx_ref) : [])).flat());
    },
  },
  {
    name: 'presence: a rejoin after a reconnect resyncs from presence_state',
    async run(ctx) {
      const topic = uniq('presence');
      const w = await member(ctx, topic, '', '');
      const e = await member(ctx, topic, 'erin', 'e1');
      await listIs(w, { erin: ['e1'] });
      // The watcher's connection drops (not a clean disconnect: phoenix.js
      // reconnects and rejoins); erin leaves while it is away; the rejoin's
      // presence_state takes her out of the watcher's list (syncState).
      w.socket.conn.close();
      await until(() => w.channel.state !== 'joined', () => 'the watcher\'s channel to notice the drop');
      await reply(e.channel.leave());
      await until(() => w.channel.state === 'joined', () => 'the watcher to rejoin');
      await listIs(w, {});
      assert.ok(w.log.leaves.some((l) => l.key === 'erin'), `onLeave for erin from syncState: ${show(w.log.leaves)}`);
    },
    transports: ['websocket'],
  },
];
