// Drives phoenix.js (LongPoll through a round-robin proxy, and a WebSocket
// to one node) against seance-node processes.
// Usage: E2E_DIR=… node cluster.cjs LONGPOLL_URL WEBSOCKET_URL [package]
// Prints one JSON object per line; runs until stdin closes, then exits 0.
const { createRequire } = require("module")
const { pathToFileURL } = require("url")
const requireE2E = createRequire(process.env.E2E_DIR + "/package.json")
const pkg = process.argv[4] || "phoenix"
const WebSocket = requireE2E("ws")
let Socket, LongPoll

const log = (o) => console.log(JSON.stringify(o))

function start(name, url, opts) {
  const socket = new Socket(url, {
    params: { user: "alice" },
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 100,
    timeout: 15000,
    ...opts,
  })
  socket.onClose((e) => log({ event: name + "_close", code: e && e.code }))
  socket.onError((e) => log({ event: name + "_error" }))
  socket.connect()
  const channel = socket.channel("room:cluster", {})
  let joins = 0
  const push = (event, payload) => new Promise((resolve, reject) => {
    channel.push(event, payload, 15000)
      .receive("ok", resolve)
      .receive("error", (r) => reject(new Error(JSON.stringify(r))))
      .receive("timeout", () => reject(new Error("timeout")))
  })
  channel.join()
    .receive("ok", async (resp) => {
      const n = ++joins
      log({ event: name + "_joined", n, node: resp.node })
      if (name !== "lp") return
      const nodes = []
      try {
        for (let i = 0; i < 10; i++) {
          const r = await push("echo", { i })
          if (r.echo.i !== i) throw new Error("echo mismatch " + JSON.stringify(r))
          nodes.push(r.node)
        }
        log({ event: "lp_echoes", n, nodes })
      } catch (e) {
        log({ event: "lp_echo_error", n, error: String(e) })
      }
    })
    .receive("error", (r) => log({ event: name + "_join_error", resp: r }))
  return socket
}

async function main() {
  if (pkg === "phoenix17") {
    // phoenix 1.7's LongPoll needs XMLHttpRequest: the e2e shim on fetch.
    await import(pathToFileURL(process.env.E2E_DIR + "/conformance/xhr.mjs").href)
  }
  ;({ Socket, LongPoll } = requireE2E(pkg))
  const lp = start("lp", process.argv[2], { transport: LongPoll })
  const ws = start("ws", process.argv[3], { transport: WebSocket })
  process.stdin.resume()
  process.stdin.on("end", () => {
    lp.disconnect()
    ws.disconnect()
    process.exit(0)
  })
}
main()
