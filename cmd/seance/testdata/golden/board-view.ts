// <board-view>: shows the state of a LiveState channel (written by
// "seance gen element"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install phx-live-state phoenix esbuild
//   npx esbuild board-view.ts --bundle --format=esm --minify --outfile=static/board-view.js
//
// and use it from any page:
//
//   <script type="module" src="/static/board-view.js"></script>
//   <board-view url="wss://example.com/socket" topic="board:lobby"></board-view>
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";
import type { Board } from "./state";

type State = Board;

export class BoardView extends HTMLElement {
  /** The channel's state, as last received (undefined until joined). */
  state?: State;
  /** The last error the socket, the channel or the server reported. */
  error = "";
  #liveState?: LiveState;

  connectedCallback(): void {
    const liveState = new LiveState({
      url: this.getAttribute("url") ?? "wss://example.com/socket",
      topic: this.getAttribute("topic") ?? "board:lobby",
    });
    // state:change and state:patch both end in a livestate-change event.
    liveState.addEventListener("livestate-change", (e: Event) => {
      this.state = (e as CustomEvent<LiveStateChange>).detail.state as State;
      this.error = "";
      this.render();
    });
    liveState.addEventListener("livestate-error", (e: Event) => {
      this.error = (e as CustomEvent<LiveStateError>).detail.message;
      this.render();
    });
    // Errors returned by the channel's HandleEvent arrive as "error" events.
    liveState.addEventListener("error", (e: Event) => {
      this.error = String((e as CustomEvent<{ message?: string }>).detail?.message ?? "error");
      this.render();
    });
    liveState.connect();
    this.#liveState = liveState;
    this.render();
  }

  disconnectedCallback(): void {
    this.#liveState?.disconnect();
    this.#liveState = undefined;
  }

  /** Sends the event name to the channel's HandleEvent with payload. */
  pushEvent(name: string, payload: object = {}): void {
    this.#liveState?.pushEvent(name, payload);
  }

  render(): void {
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    const parts: Node[] = [];
    if (this.error) {
      parts.push(el("p", "error: " + this.error));
    }
    const state = this.state;
    if (state === undefined) {
      parts.push(el("p", "connecting…"));
    } else {
      const list = document.createElement("dl");
      list.append(el("dt", "title"), el("dd", show(state.title)));
      list.append(el("dt", "columns"), el("dd", show(state.columns)));
      list.append(el("dt", "labels"), el("dd", show(state.labels)));
      list.append(el("dt", "by_id"), el("dd", show(state.by_id)));
      list.append(el("dt", "owner"), el("dd", show(state.owner)));
      list.append(el("dt", "editor"), el("dd", show(state.editor)));
      list.append(el("dt", "updated"), el("dd", show(state.updated)));
      list.append(el("dt", "deadline"), el("dd", show(state.deadline)));
      list.append(el("dt", "version"), el("dd", show(state.version)));
      list.append(el("dt", "Public"), el("dd", show(state.Public)));
      list.append(el("dt", "-"), el("dd", show(state["-"])));
      list.append(el("dt", "extra"), el("dd", show(state.extra)));
      list.append(el("dt", "score"), el("dd", show(state.score)));
      list.append(el("dt", "any"), el("dd", show(state.any)));
      list.append(el("dt", "matrix"), el("dd", show(state.matrix)));
      list.append(el("dt", "raw"), el("dd", show(state.raw)));
      list.append(el("dt", "digest"), el("dd", show(state.digest)));
      list.append(el("dt", "server"), el("dd", show(state.server)));
      list.append(el("dt", "color"), el("dd", show(state.color)));
      list.append(el("dt", "by_addr"), el("dd", show(state.by_addr)));
      list.append(el("dt", "meta"), el("dd", show(state.meta)));
      list.append(el("dt", "page"), el("dd", show(state.page)));
      list.append(el("dt", "tree"), el("dd", show(state.tree)));
      list.append(el("dt", "kind"), el("dd", show(state.kind)));
      list.append(el("dt", "empty"), el("dd", show(state.empty)));
      list.append(el("dt", "zero"), el("dd", show(state.zero)));
      list.append(el("dt", "odd-name"), el("dd", show(state["odd-name"])));
      list.append(el("dt", "created_by"), el("dd", show(state.created_by)));
      list.append(el("dt", "cursor"), el("dd", show(state.cursor)));
      list.append(el("dt", "named"), el("dd", show(state.named)));
      list.append(el("dt", "B"), el("dd", show(state.B)));
      parts.push(list);
    }
    root.replaceChildren(...parts);
  }
}

/** An element with text content (never HTML: state is data, not markup). */
function el(tag: string, text: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  return e;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

if (!customElements.get("board-view")) {
  customElements.define("board-view", BoardView);
}

declare global {
  interface HTMLElementTagNameMap {
    "board-view": BoardView;
  }
}
