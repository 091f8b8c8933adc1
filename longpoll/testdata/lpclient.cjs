// Drives the real phoenix.js LongPoll transport against a Seance test server.
// Usage: E2E_DIR=/path/to/e2e node lpclient.cjs http://127.0.0.1:PORT/socket [package]
// Prints one JSON object per line; exits 0 when the scenario completed.
const { createRequire } = require("module")
const requireE2E = createRequire(process.env.E2E_DIR + "/package.json")
const { Socket, LongPoll } = requireE2E(process.argv[3] || "phoenix")

const log = (o) => console.log(JSON.stringify(o))
let socket
const fail = (msg) => {
  log({ event: "fail", error: String(msg) })
  if (socket) { socket.disconnect() }
  process.exit(1)
}
const deadline = setTimeout(() => fail("scenario timeout"), 30000)

socket = new Socket(process.argv[2], {
  transport: LongPoll,
  authToken: "tok-123",
  params: { app: "x" },
  reconnectAfterMs: () => 50,
  rejoinAfterMs: () => 50,
})
socket.onError((error) => log({ event: "socket_error", error: String(error) }))
socket.onClose((e) => log({ event: "close", code: e.code, reason: e.reason }))
socket.connect()

const channel = socket.channel("room:lp", { hello: "join" })

const push = (event, payload) => new Promise((resolve, reject) => {
  channel.push(event, payload, 10000)
    .receive("ok", resolve)
    .receive("error", (r) => reject(new Error(event + " error " + JSON.stringify(r))))
    .receive("timeout", () => reject(new Error(event + " timeout")))
})

let joins = 0
channel.join()
  .receive("ok", (resp) => {
    joins++
    log({ event: "joined", n: joins, resp })
    const next = joins === 1 ? firstSession() : afterRejoin()
    next.catch(fail)
  })
  .receive("error", (r) => fail("join error " + JSON.stringify(r)))

async function firstSession() {
  log({ event: "echo", resp: await push("echo", { hello: "world" }) })
  const order = []
  const pushes = []
  for (let i = 0; i < 150; i++) {
    pushes.push(push("seq", { i }).then((r) => order.push(r.i)))
  }
  await Promise.all(pushes)
  log({ event: "seq", order })
  // The server drops the session: the next poll gets 410 (session gone),
  // the socket reconnects and the channel rejoins.
  channel.push("drop", {})
}

async function afterRejoin() {
  log({ event: "echo2", resp: await push("echo", { after: "rejoin" }) })
  clearTimeout(deadline)
  socket.disconnect(() => process.exit(0))
}
