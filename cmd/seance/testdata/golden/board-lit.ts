// <board-lit>: a Lit element that shows the state of a LiveState channel
// (written by "seance gen element -lit"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install lit phx-live-state phoenix esbuild
//   npx esbuild board-lit.ts --bundle --format=esm --minify --outfile=static/board-lit.js
//
// and use it from any page:
//
//   <script type="module" src="/static/board-lit.js"></script>
//   <board-lit url="ws://localhost:4000/socket" topic="board:1"></board-lit>
import { LitElement, html } from "lit";
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";
import type { Board } from "./state";

type State = Board;

export class BoardLit extends LitElement {
  // Reactive properties without decorators: no compiler flags needed.
  static override properties = {
    url: { type: String },
    topic: { type: String },
    state: { state: true },
    error: { state: true },
  };

  /** The socket URL (attribute url). */
  declare url: string;
  /** The channel's topic (attribute topic). */
  declare topic: string;
  /** The channel's state, as last received (undefined until joined). */
  declare state?: State;
  /** The last error the socket, the channel or the server reported. */
  declare error: string;
  #liveState?: LiveState;

  constructor() {
    super();
    this.url = "ws://localhost:4000/socket";
    this.topic = "board:1";
    this.error = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const liveState = new LiveState({ url: this.url, topic: this.topic });
    // state:change and state:patch both end in a livestate-change event.
    liveState.addEventListener("livestate-change", (e: Event) => {
      this.state = (e as CustomEvent<LiveStateChange>).detail.state as State;
      this.error = "";
    });
    liveState.addEventListener("livestate-error", (e: Event) => {
      this.error = (e as CustomEvent<LiveStateError>).detail.message;
    });
    // Errors returned by the channel's HandleEvent arrive as "error" events.
    liveState.addEventListener("error", (e: Event) => {
      this.error = String((e as CustomEvent<{ message?: string }>).detail?.message ?? "error");
    });
    liveState.connect();
    this.#liveState = liveState;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#liveState?.disconnect();
    this.#liveState = undefined;
  }

  /** Sends the event name to the channel's HandleEvent with payload. */
  pushEvent(name: string, payload: object = {}): void {
    this.#liveState?.pushEvent(name, payload);
  }

  override render() {
    const state = this.state;
    return html`
      ${this.error ? html`<p>error: ${this.error}</p>` : ""}
      ${state === undefined
        ? html`<p>connecting…</p>`
        : html`<dl>
            <dt>${"title"}</dt><dd>${show(state.title)}</dd>
            <dt>${"columns"}</dt><dd>${show(state.columns)}</dd>
            <dt>${"labels"}</dt><dd>${show(state.labels)}</dd>
            <dt>${"by_id"}</dt><dd>${show(state.by_id)}</dd>
            <dt>${"owner"}</dt><dd>${show(state.owner)}</dd>
            <dt>${"editor"}</dt><dd>${show(state.editor)}</dd>
            <dt>${"updated"}</dt><dd>${show(state.updated)}</dd>
            <dt>${"deadline"}</dt><dd>${show(state.deadline)}</dd>
            <dt>${"version"}</dt><dd>${show(state.version)}</dd>
            <dt>${"Public"}</dt><dd>${show(state.Public)}</dd>
            <dt>${"-"}</dt><dd>${show(state["-"])}</dd>
            <dt>${"extra"}</dt><dd>${show(state.extra)}</dd>
            <dt>${"score"}</dt><dd>${show(state.score)}</dd>
            <dt>${"any"}</dt><dd>${show(state.any)}</dd>
            <dt>${"matrix"}</dt><dd>${show(state.matrix)}</dd>
            <dt>${"raw"}</dt><dd>${show(state.raw)}</dd>
            <dt>${"digest"}</dt><dd>${show(state.digest)}</dd>
            <dt>${"server"}</dt><dd>${show(state.server)}</dd>
            <dt>${"color"}</dt><dd>${show(state.color)}</dd>
            <dt>${"by_addr"}</dt><dd>${show(state.by_addr)}</dd>
            <dt>${"meta"}</dt><dd>${show(state.meta)}</dd>
            <dt>${"page"}</dt><dd>${show(state.page)}</dd>
            <dt>${"tree"}</dt><dd>${show(state.tree)}</dd>
            <dt>${"kind"}</dt><dd>${show(state.kind)}</dd>
            <dt>${"empty"}</dt><dd>${show(state.empty)}</dd>
            <dt>${"zero"}</dt><dd>${show(state.zero)}</dd>
            <dt>${"odd-name"}</dt><dd>${show(state["odd-name"])}</dd>
            <dt>${"created_by"}</dt><dd>${show(state.created_by)}</dd>
            <dt>${"cursor"}</dt><dd>${show(state.cursor)}</dd>
            <dt>${"named"}</dt><dd>${show(state.named)}</dd>
            <dt>${"B"}</dt><dd>${show(state.B)}</dd>
          </dl>`}
    `;
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

if (!customElements.get("board-lit")) {
  customElements.define("board-lit", BoardLit);
}

declare global {
  interface HTMLElementTagNameMap {
    "board-lit": BoardLit;
  }
}
