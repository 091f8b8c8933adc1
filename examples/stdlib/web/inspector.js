// The live inspector page: joins the "inspector" LiveState channel of the
// inspector mounted at /seance/inspector/ with phx-live-state and renders
// the figures on every update.
import { newLiveState } from '../../web/live.js';

const root = document.querySelector('[data-inspector]');
const url = new URL('/seance/inspector/socket', location.href);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

const cell = (text) => { const td = document.createElement('td'); td.textContent = text; return td; };
const table = (name, entries) => {
  const t = root.querySelector(`table[data-table=${name}]`);
  t.replaceChildren(...entries.map(([k, v]) => { const tr = document.createElement('tr'); tr.dataset.key = k; tr.append(cell(k), cell(v)); return tr; }));
};

const ls = newLiveState({ url: url.href, topic: 'inspector' });
ls.addEventListener('livestate-change', ({ detail: { state } }) => {
  root.dataset.status = 'live';
  table('connections', Object.entries(state.connections));
  table('channels', Object.entries(state.channels));
  table('nodes', state.nodes.map((n) => [n.name || '(this node)', `${n.sessions} sessions`]));
  table('crashes', state.crashes.map((c) => [c.at, c.pattern]));
  root.querySelector('.at').textContent = state.at;
});
ls.socket.onClose(() => { root.dataset.status = 'offline'; });
ls.connect();
