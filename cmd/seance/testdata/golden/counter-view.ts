// <counter-view>: shows the state of a LiveState channel (written by
// "seance gen element"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install phx-live-state phoenix esbuild
//   npx esbuild counter-view.ts --bundle --format=esm --minify --outfile=static/counter-view.js
//
// and use it from any page:
//
//   <script type="module" src="/static/counter-view.js"></script>
//   <counter-view url="ws://localhost:4000/socket" topic="counter:1"></counter-view>
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";

type State = Record<string, unknown>;

export class CounterView extends HTMLElement {
  /** The channel's state, as last received (undefined until joined). */
  state?: State;
  /** The last error the socket, the channel or the server reported. */
  error = "";
  #liveState?: LiveState;

  connectedCallback(): void {
    const liveState = new LiveState({
      url: this.getAttribute("url") ?? "ws://localhost:4000/socket",
      topic: this.getAttribute("topic") ?? "counter:1",
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
      for (const [name, value] of Object.entries(state)) {
        list.append(el("dt", name), el("dd", show(value)));
      }
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

if (!customElements.get("counter-view")) {
  customElements.define("counter-view", CounterView);
}

declare global {
  interface HTMLElementTagNameMap {
    "counter-view": CounterView;
  }
}
