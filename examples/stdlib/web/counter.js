// Connects the server-rendered counter markup to counter:<name> with the
// LiveState class alone (no framework): state {count} in, events
// increment {by?}, decrement, reset out.
import { newLiveState, errorMessage } from '../../web/live.js';

const root = document.querySelector('[data-counter]');
const output = root.querySelector('output');
const status = root.querySelector('.status');
const error = root.querySelector('.error');

const setStatus = (s, text) => { root.dataset.status = s; status.textContent = text; };

const ls = newLiveState({ topic: `counter:${root.dataset.counter}` });
ls.addEventListener('livestate-change', ({ detail: { state } }) => {
  output.textContent = state.count;
  setStatus('live', 'live: every page of this counter counts together');
});
ls.addEventListener('livestate-error', ({ detail }) => {
  if (detail?.type === 'socket error' || detail?.type === 'channel error') return;
  error.textContent = errorMessage(detail);
  error.hidden = false;
});
ls.socket.onClose(() => setStatus('offline', 'reconnecting…'));
ls.connect();

for (const button of root.querySelectorAll('button[data-event]')) {
  button.addEventListener('click', () => {
    error.hidden = true;
    const detail = button.dataset.by ? { by: Number(button.dataset.by) } : {};
    ls.pushEvent(button.dataset.event, detail);
  });
}
