// esbuild entry: phx-live-state 0.11.2 with its own nested phoenix 1.6.15.
// LongPoll comes from that same nested phoenix, so the bundle holds one copy.
export { LiveState } from 'phx-live-state-011/build/src/LiveState.js';
export { LongPoll } from 'phx-live-state-011/node_modules/phoenix/priv/static/phoenix.mjs';
