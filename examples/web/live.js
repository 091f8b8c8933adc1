// Helpers shared by the examples' browser code.
import { LiveState } from 'phx-live-state';
import { LongPoll } from 'phoenix';

/**
 * socketURL returns the ws:// or wss:// URL of the Seance socket mounted at
 * /socket on the server that served `base` (the page, or a script's
 * import.meta.url for an element embedded in another site).
 */
export function socketURL(base = location.href) {
  const u = new URL('/socket', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

/**
 * newLiveState makes a phx-live-state LiveState for topic (call its
 * connect() once listeners are added). transport "longpoll" (or ?transport=longpoll on the page) makes
 * phoenix.js use long-polling instead of WebSocket; phx-live-state passes
 * socketOptions to phoenix.js unchanged.
 */
export function newLiveState({ url = socketURL(), topic, params, transport } = {}) {
  transport ??= new URLSearchParams(location.search).get('transport');
  const socketOptions = transport === 'longpoll' ? { transport: LongPoll } : {};
  const liveState = new LiveState({ url, topic, params, socketOptions });
  announce({ topic, liveState });
  return liveState;
}

/**
 * announce lists a LiveState in window.seanceLiveStates and dispatches a
 * seance:livestate event on window, so that the demo's <frame-panel>,
 * bundled separately, can watch its frames. Only pages with a <frame-panel>
 * get this global (module scripts run once the document is parsed): an
 * element embedded in other sites' pages leaves their window alone.
 */
function announce(entry) {
  if (!document.querySelector('frame-panel')) return;
  (window.seanceLiveStates ??= []).push(entry);
  window.dispatchEvent(new CustomEvent('seance:livestate', { detail: entry }));
}

/**
 * errorMessage turns a livestate-error detail into text for the user:
 * server `error` events carry {message}, join errors {type, message}.
 */
export function errorMessage(detail) {
  const text = String(detail?.message || detail?.type || 'something went wrong');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
