// esbuild entry: phx-live-state 0.12.x (its phoenix resolves to the top-level
// phoenix 1.8). LongPoll is exported for the long-poll transport column.
export { LiveState } from 'phx-live-state/build/src/LiveState.js';
export { LongPoll } from 'phoenix';
