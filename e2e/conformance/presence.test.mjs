// Presence conformance in Node: phoenix.js's Presence (1.7.21 and 1.8.16)
// runs the scenarios of scenarios/presence.mjs against the Go presence
// package (phoenix 1.7's long-poll leg is in legacy-longpoll.test.mjs).
import * as phoenix18 from 'phoenix';
import * as phoenix17 from 'phoenix17';
import { runScenarios } from './lib.mjs';
import { scenarios } from './scenarios/presence.mjs';

runScenarios([
  { name: 'phoenix 1.7.21', lib: phoenix17, transports: ['websocket'] },
  { name: 'phoenix 1.8.16', lib: phoenix18, transports: ['websocket', 'longpoll'] },
], scenarios);
