// A phoenix.js client that stops reading, then reads again, and reports how
// its socket was closed.
//
// Usage: node e2e/js/slow-consumer.mjs <socket url> <phoenix package>
//
// It joins "flood:1", pauses its TCP socket (nothing more is read from the
// kernel, whose buffers fill up), asks the server to push 3000-byte events
// until the server gives up on it, and prints "paused". When a line arrives
// on stdin it reads again, waits for the socket's close event and prints
// {"code":…,"reason":…,"received":…} (received: the pushes read before the
// close), then exits.
import WebSocket from 'ws';
import { createInterface } from 'node:readline';

const [url, pkg] = process.argv.slice(2);
if (!url || !pkg) {
  console.error('usage: node slow-consumer.mjs <socket url> <phoenix package>');
  process.exit(2);
}
const { Socket } = await import(pkg);

// No reconnect or heartbeat during the run: the close event is the result.
const socket = new Socket(url, { transport: WebSocket, reconnectAfterMs: () => 600000, heartbeatIntervalMs: 600000 });
const closed = new Promise((resolve) => socket.onClose((ev) => resolve(ev)));
socket.connect();

let received = 0;
let next = 0;
let corrupt = null;
const ch = socket.channel('flood:1', {});
ch.on('push', (p) => {
  if (p.i !== next && corrupt === null) corrupt = `push ${p.i}, expected ${next}`;
  next = p.i + 1;
  received += 1;
});
await new Promise((resolve, reject) => {
  ch.join()
    .receive('ok', resolve)
    .receive('error', (r) => reject(new Error(`join refused: ${JSON.stringify(r)}`)))
    .receive('timeout', () => reject(new Error('join timed out')));
});

socket.conn._socket.pause(); // stop reading
ch.push('flood', { size: 3000 });
console.log('paused');

const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
lines.close();
socket.conn._socket.resume();

const ev = await closed;
console.log(JSON.stringify({ code: ev.code, reason: ev.reason, received, corrupt }));
process.exit(0);
