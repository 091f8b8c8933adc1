// The phoenix.js side of the cluster scenario, shared by the Node leg
// (cluster.cjs) and the Chromium leg (browser.mjs bundles it into a page):
// a LongPoll socket through the round-robin proxy and a WebSocket to one
// node, both as user "alice", each joining "room:cluster"; after every join
// of the long-poll socket, ten echo pushes. Everything it sees is reported
// through log as one object per event.

/**
 * run connects both sockets and returns a function that disconnects them.
 * phx is the phoenix module (Socket, LongPoll); WebSocket the WebSocket
 * class to use; log receives each event.
 */
export function run({ phx, WebSocket, lpURL, wsURL, log }) {
  const lp = start(phx, log, "lp", lpURL, { transport: phx.LongPoll })
  const ws = start(phx, log, "ws", wsURL, { transport: WebSocket })
  return () => {
    lp.disconnect()
    ws.disconnect()
  }
}

function start(phx, log, name, url, opts) {
  const socket = new phx.Socket(url, {
    params: { user: "alice" },
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 100,
    timeout: 15000,
    ...opts,
  })
  let channel
  let opens = 0
  let joins = 0
  socket.onOpen(() => {
    log({ event: name + "_open", n: ++opens })
    // phoenix 1.7's LongPoll answers a {"status":410} (its session is gone,
    // as when its node died) by carrying on with a new session, opened
    // again, without telling its channels: they still say "joined" but the
    // new session has none, so every push is refused. An app has to join
    // again itself; phoenix 1.8 closes and its channels rejoin on their own.
    if (opens > 1 && channel.state === "joined") {
      log({ event: name + "_stale_channel", n: opens })
      channel.leave()
      join()
    }
  })
  socket.onClose((e) => log({ event: name + "_close", code: e && e.code }))
  socket.onError(() => log({ event: name + "_error" }))
  socket.connect()
  const join = () => {
    const ch = socket.channel("room:cluster", {})
    channel = ch
    const push = (event, payload) => new Promise((resolve, reject) => {
      ch.push(event, payload, 15000)
        .receive("ok", resolve)
        .receive("error", (r) => reject(new Error(JSON.stringify(r))))
        .receive("timeout", () => reject(new Error("timeout")))
    })
    ch.join()
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
  }
  join()
  return socket
}
