// Phoenix Channels conformance in Node: the official phoenix.js clients
// (1.7.21 and 1.8.16) run the scenarios of scenarios/phoenix.mjs against the
// Go server.
import * as phoenix18 from 'phoenix';
import * as phoenix17 from 'phoenix17';
import { runScenarios } from './lib.mjs';
import { scenarios } from './scenarios/phoenix.mjs';

// phoenix 1.7's LongPoll needs XMLHttpRequest: its long-poll run is in
// legacy-longpoll.test.mjs (with a shim) and in the browser leg.
const clients = [
  { name: 'phoenix 1.7.21', lib: phoenix17, transports: ['websocket'], authToken: false },
  { name: 'phoenix 1.8.16', lib: phoenix18, transports: ['websocket', 'longpoll'], authToken: true },
];

runScenarios(clients, scenarios);
