// The demo's panel, next to the todo list:
//
//   <shared-list topic="board:demo">  a list whose state is shared by every
//                                     client (livestate.NewShared): all tabs
//                                     show the same version;
//   <frame-panel>                      the state frames the page's LiveState
//                                     clients receive (state:change or
//                                     state:patch, version, operations) and
//                                     the transport in use.
//
// The page's elements make their LiveState with web/live.js, which lists
// each one in window.seanceLiveStates and announces it with a
// seance:livestate event: that is how the panel finds them.
import { LitElement, html, css } from 'lit';
import { newLiveState, errorMessage } from '../../web/live.js';

class SharedList extends LitElement {
  static properties = {
    topic: { type: String },
    items: { state: true },
    version: { state: true },
    error: { state: true },
    status: { type: String, reflect: true },
  };

  constructor() {
    super();
    this.topic = 'board:demo';
    this.items = [];
    this.version = null;
    this.error = '';
    this.status = 'connecting';
  }

  connectedCallback() {
    super.connectedCallback();
    const ls = newLiveState({ topic: this.topic });
    ls.addEventListener('livestate-change', ({ detail: { state, version } }) => {
      this.items = state.items;
      this.version = version;
      this.status = 'live';
    });
    ls.addEventListener('livestate-error', ({ detail }) => {
      if (detail?.type === 'socket error' || detail?.type === 'channel error') return;
      this.error = errorMessage(detail);
    });
    ls.socket.onClose(() => { this.status = 'offline'; });
    ls.connect();
    this.liveState = ls;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.liveState?.disconnect();
  }

  add(e) {
    e.preventDefault();
    const input = e.target.elements.text;
    this.error = '';
    this.liveState.pushEvent('add_item', { text: input.value });
    input.value = '';
  }

  render() {
    return html`
      <header>
        <h2>Shared list</h2>
        <span class="version">version ${this.version ?? '…'}</span>
      </header>
      <p class="note">One state on the server for every tab (<code>livestate.NewShared</code>):
        each change is one patch with one version, the same in every tab.</p>
      <form @submit=${this.add}>
        <input name="text" placeholder="Add to the shared list" autocomplete="off" aria-label="New item">
        <button>Add</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <ul>${this.items.map((it) => html`
        <li data-id=${it.id}><span class="text">${it.text}</span>
          <button class="remove" aria-label="Remove ${it.text}"
            @click=${() => this.liveState.pushEvent('remove_item', { id: it.id })}>×</button></li>`)}
      </ul>`;
  }

  static styles = css`
    :host { display: block; background: #fff; border-radius: 12px; padding: 1rem 1.25rem;
            box-shadow: 0 1px 3px rgb(0 0 0 / .08); }
    header { display: flex; justify-content: space-between; align-items: baseline; }
    h2 { font-size: 1.1rem; margin: 0; }
    .version { font: 12px ui-monospace, monospace; color: #4f6bed; }
    .note { color: #6b7280; font-size: 13px; margin: .3rem 0 .6rem; }
    form { display: flex; gap: .5rem; }
    input { flex: 1; font: inherit; padding: .4rem .6rem; border: 1px solid #d5d9e0; border-radius: 8px; }
    button { font: inherit; cursor: pointer; border-radius: 8px; border: 0; }
    form button { padding: .4rem .9rem; background: #4f6bed; color: #fff; font-weight: 600; }
    .error { margin: .5rem 0 0; padding: .4rem .6rem; border-radius: 8px; background: #fdecea; color: #b42318; font-size: 14px; }
    ul { list-style: none; margin: .5rem 0 0; padding: 0; }
    li { display: flex; justify-content: space-between; border-bottom: 1px solid #f0f1f4; padding: .3rem .1rem; }
    .remove { background: none; color: #b0b6c1; font-size: 1.1rem; }
  `;
}

/** maxFrames bounds the panel's history. */
const maxFrames = 12;

/** summary describes a patch's operations: "replace /todos/1/done". */
function summary(patch) {
  return patch.map((op) => `${op.op} ${op.path}${op.from ? ` from ${op.from}` : ''}`).join(', ');
}

class FramePanel extends LitElement {
  static properties = {
    frames: { state: true },
    transports: { state: true },
  };

  constructor() {
    super();
    this.frames = [];
    this.transports = {};
    this.seen = new Set();
    this.onLiveState = ({ detail }) => this.watch(detail);
  }

  connectedCallback() {
    super.connectedCallback();
    for (const entry of window.seanceLiveStates ?? []) this.watch(entry);
    window.addEventListener('seance:livestate', this.onLiveState);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.removeEventListener('seance:livestate', this.onLiveState);
  }

  /** watch listens to the state frames of one LiveState client. */
  watch({ topic, liveState }) {
    if (this.seen.has(liveState)) return;
    this.seen.add(liveState);
    // phoenix.js uses the browser's WebSocket unless told otherwise (the
    // page's bundles each have their own copy of phoenix's LongPoll class).
    const transport = liveState.socket.transport === window.WebSocket ? 'websocket' : 'longpoll';
    this.transports = { ...this.transports, [topic]: transport };
    liveState.channel.on('state:change', ({ version, state }) => {
      this.add({ topic, kind: 'change', version, ops: `whole state, ${JSON.stringify(state).length} bytes` });
    });
    liveState.channel.on('state:patch', ({ version, patch }) => {
      this.add({ topic, kind: 'patch', version, ops: summary(patch) });
    });
  }

  add(frame) {
    frame.time = new Date().toISOString().slice(11, 23);
    this.frames = [frame, ...this.frames].slice(0, maxFrames);
  }

  render() {
    const transports = [...new Set(Object.values(this.transports))];
    return html`
      <header>
        <h2>Live frames</h2>
        <span class="transport" data-transport=${transports.join(',')}>${transports.join(', ') || '…'}</span>
      </header>
      <p class="note">What the server pushes: a whole <code>state:change</code> on join, then
        <code>state:patch</code> (RFC 6902) with the next version.</p>
      <ol>${this.frames.map((f) => html`
        <li class="frame" data-kind=${f.kind} data-topic=${f.topic} data-version=${f.version}>
          <span class="time">${f.time}</span>
          <span class="kind ${f.kind}">${f.kind}</span>
          <span class="topic">${f.topic}</span>
          <span class="v">v${f.version}</span>
          <span class="ops">${f.ops}</span>
        </li>`)}
      </ol>`;
  }

  static styles = css`
    :host { display: block; background: #1d2330; color: #e5e7eb; border-radius: 12px; padding: 1rem 1.25rem;
            font-size: 13px; }
    header { display: flex; justify-content: space-between; align-items: baseline; }
    h2 { font-size: 1.1rem; margin: 0; color: #fff; }
    .transport { font: 12px ui-monospace, monospace; background: #374151; border-radius: 999px; padding: .1rem .5rem; }
    .note { color: #9ca3af; margin: .3rem 0 .5rem; }
    code { color: #c7d2fe; }
    ol { list-style: none; margin: 0; padding: 0; font: 12px/1.5 ui-monospace, monospace; }
    li { display: grid; grid-template-columns: auto auto auto auto 1fr; gap: .5rem; padding: .15rem 0;
         border-bottom: 1px solid #2d3545; }
    .time { color: #6b7280; }
    .kind.change { color: #fbbf24; }
    .kind.patch { color: #34d399; }
    .topic { color: #93c5fd; }
    .ops { overflow-wrap: anywhere; color: #d1d5db; }
  `;
}

customElements.define('shared-list', SharedList);
customElements.define('frame-panel', FramePanel);
