// The phoenix.js side of the cross-node history scenario: a WebSocket (as
// client "js", the client_id the test's proxy cuts by) joins a tracked topic,
// keeps the position of the last message it received (a message's ref is
// "epoch:offset") and rejoins with {"recover": position}, as an app does.
// Usage: E2E_DIR=… node history.cjs SOCKET_URL TOPIC [package]
// Prints one JSON object per line; runs until stdin closes, then exits 0.
const { createRequire } = require("module")
const requireE2E = createRequire(process.env.E2E_DIR + "/package.json")
const { Socket } = requireE2E(process.argv[4] || "phoenix")
const WebSocket = requireE2E("ws")

const log = (o) => console.log(JSON.stringify(o))
const socket = new Socket(process.argv[2], {
  transport: WebSocket,
  params: { client_id: "js" },
  reconnectAfterMs: () => 50,
  rejoinAfterMs: () => 50,
  timeout: 15000,
})
let pos = null
const channel = socket.channel(process.argv[3], () => (pos ? { recover: pos } : {}))
channel.on("phx_position", ({ epoch, offset, recovered }) => {
  if (recovered !== true) pos = { epoch, offset }
  log({ event: "position", epoch, offset, recovered })
})
channel.on("msg", (payload, ref) => {
  const i = ref.lastIndexOf(":")
  pos = { epoch: ref.slice(0, i), offset: Number(ref.slice(i + 1)) }
  log({ event: "msg", i: payload.i, ref })
})
socket.onClose((e) => log({ event: "close", code: e && e.code }))
socket.connect()
channel.join()
  .receive("ok", (resp) => log({ event: "joined", node: resp.node }))
  .receive("error", (resp) => log({ event: "join_error", resp }))
// Rejoins after a reconnect answer through the same callbacks.
process.stdin.resume()
process.stdin.on("end", () => {
  socket.disconnect()
  process.exit(0)
})
