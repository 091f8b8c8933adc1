// A phoenix.js client over the ws package with permessage-deflate, for
// TestCompressedNode (../compress_test.go).
//
// Usage: node e2e/js/compressed.mjs <socket url> <phoenix package>
//
// It joins a bigshared:* topic (a shared LiveState whose state carries a
// 100 KB note) and a counter:* topic with a 100 KB note as join param (sent
// compressed), pushes three increments to the counter, and prints
// {"extensions", "shared": {len, sha}, "own": {len, sha}, "count", "patches"}:
// the negotiated extensions, the length and SHA-256 of the notes received,
// the counter after the increments and the state:patch frames seen.
import WebSocket from 'ws';
import { createHash } from 'node:crypto';

const [url, pkg] = process.argv.slice(2);
if (!url || !pkg) {
  console.error('usage: node compressed.mjs <socket url> <phoenix package>');
  process.exit(2);
}
const { Socket } = await import(pkg);

// ws offers permessage-deflate by default; say so, and compress every
// client message from 1 KB on (the counter's join carries 100 KB).
class DeflateWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { perMessageDeflate: { threshold: 1024 } });
  }
}

const fail = (msg) => { console.error(msg); process.exit(1); };
setTimeout(() => fail('timed out'), 30000).unref();

const socket = new Socket(url, { transport: DeflateWebSocket, reconnectAfterMs: () => 600000, logger: () => {} });
const opened = new Promise((resolve) => socket.onOpen(resolve));
socket.onError((e) => fail(`socket error: ${e?.message ?? e}`));
socket.connect();
await opened;

let note = '';
for (let i = 0; note.length < 100000; i++) note += `item-${i}:${(i * 7919) % 10007};`;

const digest = (s) => ({ len: s.length, sha: createHash('sha256').update(s).digest('hex') });

/** join joins topic and resolves with the payload of its first state:change. */
function join(topic, params, onPatch) {
  const ch = socket.channel(topic, params);
  const first = new Promise((resolve) => {
    ch.on('state:change', (p) => resolve(p));
  });
  if (onPatch) ch.on('state:patch', onPatch);
  ch.join().receive('error', (r) => fail(`join ${topic} refused: ${JSON.stringify(r)}`));
  return { ch, first };
}

const id = Math.random().toString(36).slice(2);
const shared = join(`bigshared:${id}`, {});
let patches = 0;
let count = 0;
const three = new Promise((resolve) => {
  const own = join(`counter:${id}`, { start: 0, note }, (p) => {
    patches += 1;
    for (const op of p.patch) if (op.path === '/count') count = op.value;
    if (count === 3) resolve();
  });
  own.first.then((p) => {
    result.own = digest(p.state.note);
    for (let i = 0; i < 3; i++) own.ch.push('lvs_evt:increment', {});
  });
});
const result = { extensions: socket.conn.extensions };
result.shared = digest((await shared.first).state.note);
await three;
result.count = count;
result.patches = patches;
console.log(JSON.stringify(result));
process.exit(0);
