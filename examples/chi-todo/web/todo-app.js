// <todo-list list="default">: a shared todo list synced by LiveState.
//
// The state {todos: [{id, title, done}]} lives on the Go server; the element
// renders it and sends add_todo, toggle_todo, delete_todo and clear_done.
import { LitElement, html, css } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { newLiveState, errorMessage } from '../../web/live.js';
import './todo-viewers.js';

class TodoList extends LitElement {
  static properties = {
    list: { type: String },
    url: { type: String },
    transport: { type: String },
    todos: { state: true },
    error: { state: true },
    status: { type: String, reflect: true },
  };

  constructor() {
    super();
    this.list = 'default';
    this.todos = [];
    this.error = '';
    this.status = 'connecting';
  }

  connectedCallback() {
    super.connectedCallback();
    const ls = newLiveState({ url: this.url, topic: `todo:${this.list}`, transport: this.transport });
    ls.addEventListener('livestate-change', ({ detail: { state } }) => {
      this.todos = state.todos;
      this.status = 'live';
    });
    ls.addEventListener('livestate-error', ({ detail }) => {
      // Lost connections show in the status badge; phoenix.js reconnects by itself.
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

  send(event, detail = {}) {
    this.error = '';
    this.liveState.pushEvent(event, detail);
  }

  add(e) {
    e.preventDefault();
    const input = e.target.elements.title;
    this.send('add_todo', { title: input.value });
    input.value = '';
  }

  render() {
    const left = this.todos.filter((t) => !t.done).length;
    const done = this.todos.length - left;
    return html`
      <header>
        <h1>Todos <span class="list">${this.list}</span></h1>
        <span class="badge ${this.status}">${statusText[this.status]}</span>
      </header>
      <todo-viewers list=${this.list} .url=${this.url} .transport=${this.transport}></todo-viewers>
      <form @submit=${this.add}>
        <input name="title" placeholder="What needs doing?" autocomplete="off" aria-label="New todo">
        <button>Add</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <ul>
        ${repeat(this.todos, (t) => t.id, (t) => html`
          <li class=${t.done ? 'done' : ''} data-id=${t.id}>
            <label>
              <input type="checkbox" .checked=${t.done} @change=${() => this.send('toggle_todo', { id: t.id })}>
              <span class="title">${t.title}</span>
            </label>
            <button class="delete" title="Delete" aria-label="Delete ${t.title}"
              @click=${() => this.send('delete_todo', { id: t.id })}>×</button>
          </li>`)}
      </ul>
      ${this.todos.length === 0 ? html`<p class="empty">Nothing to do. Add something above.</p>` : ''}
      <footer>
        <span class="count">${left} left</span>
        <button class="clear" ?disabled=${done === 0} @click=${() => this.send('clear_done')}>Clear done (${done})</button>
      </footer>`;
  }

  static styles = css`
    :host { display: block; background: #fff; border-radius: 12px; padding: 1.25rem 1.25rem .75rem;
            box-shadow: 0 1px 3px rgb(0 0 0 / .08), 0 8px 24px rgb(0 0 0 / .05); }
    header { display: flex; align-items: center; justify-content: space-between; margin-bottom: .9rem; }
    h1 { font-size: 1.35rem; margin: 0; }
    .list { font-weight: 400; color: #6b7280; font-size: 1rem; margin-left: .35rem; }
    .badge { font-size: 12px; padding: .15rem .55rem; border-radius: 999px; background: #eef0f3; color: #6b7280; }
    .badge.live { background: #e3f6ea; color: #1f7a42; }
    .badge.offline { background: #fdecea; color: #b42318; }
    form { display: flex; gap: .5rem; }
    form input { flex: 1; font: inherit; padding: .5rem .7rem; border: 1px solid #d5d9e0; border-radius: 8px; }
    form input:focus { outline: 2px solid #4f6bed33; border-color: #4f6bed; }
    button { font: inherit; cursor: pointer; border-radius: 8px; }
    form button { padding: .5rem 1rem; border: 0; background: #4f6bed; color: #fff; font-weight: 600; }
    .error { margin: .6rem 0 0; padding: .45rem .7rem; border-radius: 8px; background: #fdecea; color: #b42318; font-size: 14px; }
    ul { list-style: none; margin: .75rem 0 0; padding: 0; }
    li { display: flex; align-items: center; border-bottom: 1px solid #f0f1f4; padding: .45rem .1rem; }
    li label { flex: 1; display: flex; align-items: center; gap: .6rem; cursor: pointer; min-width: 0; }
    li input { width: 1.05rem; height: 1.05rem; accent-color: #4f6bed; }
    .title { overflow-wrap: anywhere; }
    li.done .title { color: #9aa1ad; text-decoration: line-through; }
    .delete { border: 0; background: none; color: #b0b6c1; font-size: 1.2rem; line-height: 1; padding: .1rem .4rem; }
    .delete:hover { color: #b42318; background: #fdecea; }
    .empty { color: #9aa1ad; text-align: center; margin: 1rem 0; }
    footer { display: flex; justify-content: space-between; align-items: center; color: #6b7280; font-size: 13px; padding-top: .6rem; }
    .clear { border: 1px solid #d5d9e0; background: #fff; color: #374151; padding: .25rem .7rem; font-size: 13px; }
    .clear:disabled { opacity: .45; cursor: default; }
  `;
}

const statusText = { connecting: 'connecting…', live: 'live', offline: 'reconnecting…' };

customElements.define('todo-list', TodoList);
