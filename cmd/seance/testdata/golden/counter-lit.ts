// <counter-lit>: a Lit element that shows the state of a LiveState channel
// (written by "seance gen element -lit"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install lit phx-live-state phoenix esbuild
//   npx esbuild counter-lit.ts --bundle --format=esm --minify --outfile=static/counter-lit.js
//
// and use it from any page:
//
//   <script type="module" src="/static/counter-lit.js"></script>
//   <counter-lit url="ws://localhost:4000/socket" topic="counter:1"></counter-lit>
import { LitElement, html } from "lit";
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";

type State = Record<string, unknown>;

export class CounterLit extends LitElement {
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
    this.topic = "counter:1";
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
            ${Object.entries(state).map(([name, value]) => html`<dt>${name}</dt><dd>${show(value)}</dd>`)}
          </dl>`}
    `;
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

if (!customElements.get("counter-lit")) {
  customElements.define("counter-lit", CounterLit);
}

declare global {
  interface HTMLElementTagNameMap {
    "counter-lit": CounterLit;
  }
}
