// <todo-viewers list="default">: who is viewing the list, synced by
// LiveState from the Go server's presence tracker (viewers:<list>, state
// {viewers: [{name, tabs}]}). The viewer's name comes from ?name= on the
// page (default "guest").
import { LitElement, html, css } from 'lit';
import { newLiveState } from '../../web/live.js';

class TodoViewers extends LitElement {
  static properties = {
    list: { type: String },
    url: { type: String },
    transport: { type: String },
    viewers: { state: true },
  };

  constructor() {
    super();
    this.list = 'default';
    this.viewers = [];
  }

  connectedCallback() {
    super.connectedCallback();
    const name = new URLSearchParams(location.search).get('name') || 'guest';
    const ls = newLiveState({ url: this.url, topic: `viewers:${this.list}`, params: { name }, transport: this.transport });
    ls.addEventListener('livestate-change', ({ detail: { state } }) => { this.viewers = state.viewers; });
    ls.connect();
    this.liveState = ls;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.liveState?.disconnect();
  }

  render() {
    if (this.viewers.length === 0) return html``;
    return html`<span class="label">Viewing:</span>
      ${this.viewers.map((v) => html`<span class="viewer" title="${v.tabs} tab(s)">${v.name}${v.tabs > 1 ? html` <small>×${v.tabs}</small>` : ''}</span>`)}`;
  }

  static styles = css`
    :host { display: flex; flex-wrap: wrap; gap: .35rem; align-items: center; font-size: 12px; color: #6b7280; margin-bottom: .6rem; }
    .viewer { background: #eef0fd; color: #3949ab; border-radius: 999px; padding: .1rem .55rem; }
  `;
}

customElements.define('todo-viewers', TodoViewers);
