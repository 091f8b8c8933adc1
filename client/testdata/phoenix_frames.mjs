// Drives phoenix.js (the version installed in e2e/node_modules) through the
// action sequence of TestFramesMatchPhoenixJS: connect with params and an
// auth token, join "room:1" with {"a":1}, push "echo" {"x":1}, wait for a
// heartbeat reply (WebSocket), leave, disconnect. The Go test records the
// frames the server receives and compares them with those of the Go client.
//
// Environment: E2E_DIR (the e2e directory with node_modules), ENDPOINT
// (ws://host:port/socket), TRANSPORT (websocket | longpoll), AUTH_TOKEN,
// HEARTBEAT_MS.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const fail = (msg) => {
  console.error("phoenix_frames:", msg);
  process.exit(1);
};
// Never hang: a phoenix.js socket left open keeps Node alive.
setTimeout(() => fail("timed out"), 20000);

const e2e = process.env.E2E_DIR;
const require = createRequire(path.join(e2e, "package.json"));
const WebSocket = require("ws");
const phoenixPkg = JSON.parse(readFileSync(path.join(e2e, "node_modules", "phoenix", "package.json"), "utf8"));
const { Socket, LongPoll } = await import(
  pathToFileURL(path.join(e2e, "node_modules", "phoenix", "priv", "static", "phoenix.mjs")).href
);

const longpoll = process.env.TRANSPORT === "longpoll";
const socket = new Socket(process.env.ENDPOINT, {
  transport: longpoll ? LongPoll : WebSocket,
  params: { user: "ann", meta: { k: "v" } },
  authToken: process.env.AUTH_TOKEN,
  heartbeatIntervalMs: Number(process.env.HEARTBEAT_MS),
  reconnectAfterMs: () => 50,
  rejoinAfterMs: () => 50,
});

let heartbeatReplies = 0;
let onHeartbeatReply = null;
const replyWaiters = new Map(); // ref → resolve
socket.onMessage((msg) => {
  if (msg.topic === "phoenix" && msg.event === "phx_reply") {
    heartbeatReplies++;
    if (onHeartbeatReply) onHeartbeatReply();
  }
  if (msg.event === "phx_reply" && replyWaiters.has(msg.ref)) {
    replyWaiters.get(msg.ref)(msg.payload);
    replyWaiters.delete(msg.ref);
  }
});
const heartbeatReplied = () =>
  new Promise((resolve) => {
    if (heartbeatReplies > 0) return resolve();
    onHeartbeatReply = resolve;
  });

const receive = (push, what) =>
  new Promise((resolve, reject) => {
    push
      .receive("ok", resolve)
      .receive("error", (e) => reject(new Error(`${what} error ${JSON.stringify(e)}`)))
      .receive("timeout", () => reject(new Error(`${what} timeout`)));
  });

try {
  socket.connect();
  const ch = socket.channel("room:1", { a: 1 });
  await receive(ch.join(), "join");
  const echo = await receive(ch.push("echo", { x: 1 }), "echo");
  if (JSON.stringify(echo) !== '{"x":1}') fail(`echo reply ${JSON.stringify(echo)}`);
  if (!longpoll) await heartbeatReplied();
  // phoenix.js resolves a leave at once (the channel can no longer push);
  // wait for the server's reply, like the Go client, so that the leave has
  // really been sent before disconnecting (over long-poll a disconnect
  // drops the batch not yet posted).
  const leave = ch.leave();
  const leaveReply = await new Promise((resolve) => replyWaiters.set(leave.ref, resolve));
  if (leaveReply.status !== "ok") fail(`leave reply ${JSON.stringify(leaveReply)}`);
  await new Promise((resolve) => socket.disconnect(resolve));
  console.log(JSON.stringify({ phoenix: phoenixPkg.version, heartbeatReplies }));
  process.exit(0);
} catch (e) {
  fail(e.message);
}
