// The Node leg of the cluster scenario: runs scenario.mjs with phoenix.js
// (LongPoll through a round-robin proxy, and a WebSocket to one node)
// against seance-node processes.
// Usage: E2E_DIR=… node cluster.cjs LONGPOLL_URL WEBSOCKET_URL [package]
// Prints one JSON object per line; runs until stdin closes, then exits 0.
const { createRequire } = require("module")
const { pathToFileURL } = require("url")
const requireE2E = createRequire(process.env.E2E_DIR + "/package.json")
const pkg = process.argv[4] || "phoenix"
const WebSocket = requireE2E("ws")

async function main() {
  if (pkg === "phoenix17") {
    // phoenix 1.7's LongPoll needs XMLHttpRequest: the e2e shim on fetch.
    await import(pathToFileURL(process.env.E2E_DIR + "/conformance/xhr.mjs").href)
  }
  const { run } = await import(pathToFileURL(__dirname + "/scenario.mjs").href)
  const stop = run({
    phx: requireE2E(pkg),
    WebSocket,
    lpURL: process.argv[2],
    wsURL: process.argv[3],
    log: (o) => console.log(JSON.stringify(o)),
  })
  process.stdin.resume()
  process.stdin.on("end", () => {
    stop()
    process.exit(0)
  })
}
main()
