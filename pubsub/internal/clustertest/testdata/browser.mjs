// The Chromium leg of the cluster scenario: bundles phoenix.js and
// scenario.mjs with esbuild, opens a page in headless Chromium (through
// playwright-core, a fresh profile) on the proxy's origin, and runs the
// scenario there with the browser's own XMLHttpRequest/fetch and WebSocket.
// The page is the proxy's own blank page ($BLANK_PAGE): the long-poll
// requests are same-origin, as an app's.
// Usage: E2E_DIR=… CHROMIUM=… BLANK_PAGE=… node browser.mjs LONGPOLL_URL WEBSOCKET_URL [package]
// Prints one JSON object per line, as cluster.cjs; runs until stdin closes,
// then exits 0, or 1 when the page threw an uncaught error.
import { createRequire } from "node:module"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const e2e = process.env.E2E_DIR
const requireE2E = createRequire(join(e2e, "package.json"))
const { chromium } = requireE2E("playwright-core")
const esbuild = requireE2E("esbuild")
const [lpURL, wsURL, pkg = "phoenix"] = process.argv.slice(2)

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

const warn = (...args) => console.error("browser.mjs:", ...args)

const scenario = fileURLToPath(new URL("scenario.mjs", import.meta.url))
const bundle = await esbuild.build({
  stdin: {
    contents: `import * as phx from ${JSON.stringify(pkg)}
import { run } from ${JSON.stringify(scenario)}
window.__start = (lpURL, wsURL) => {
  window.__stop = run({ phx, WebSocket: window.WebSocket, lpURL, wsURL, log: (o) => window.__log(JSON.stringify(o)) })
}`,
    resolveDir: e2e,
    sourcefile: "cluster-entry.js",
  },
  nodePaths: [join(e2e, "node_modules")],
  bundle: true,
  format: "esm",
  write: false,
  logLevel: "warning",
})
const script = bundle.outputFiles[0].text
const origin = new URL(lpURL).origin
const pageURL = origin + process.env.BLANK_PAGE

const profile = await mkdtemp(join(tmpdir(), "seance-cluster-chromium-"))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
})
const pageErrors = []
let closing = false
async function finish() {
  if (closing) return
  closing = true
  await context.close().catch((e) => warn("close:", e.message))
  await rm(profile, { recursive: true, force: true })
  if (pageErrors.length) warn("uncaught errors in the page:\n" + pageErrors.join("\n"))
  process.exit(pageErrors.length ? 1 : 0)
}
process.stdin.resume()
process.stdin.on("end", finish)

try {
  const page = context.pages()[0] ?? await context.newPage()
  await page.exposeFunction("__log", (line) => console.log(line))
  page.on("pageerror", (e) => { pageErrors.push(e.stack ?? String(e)) })
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") warn(`[console.${m.type()}] ${m.text()}`)
  })
  await page.goto(pageURL)
  await page.addScriptTag({ type: "module", content: script })
  await page.waitForFunction(() => typeof window.__start === "function", null, { timeout: 15000 })
  console.log(JSON.stringify({ event: "browser", version: context.browser()?.version() ?? "", pkg }))
  await page.evaluate(([lp, ws]) => window.__start(lp, ws), [lpURL, wsURL])
} catch (e) {
  warn(e.stack ?? e)
  pageErrors.push(`driver: ${e.message}`)
  await finish()
}
