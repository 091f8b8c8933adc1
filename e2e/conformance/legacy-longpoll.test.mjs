// Long-poll conformance of the clients whose LongPoll needs XMLHttpRequest
// (phoenix 1.7.21, and phx-live-state 0.11.2 on its own phoenix 1.6.15): the
// same scenario tables, in their own process with the XMLHttpRequest shim of
// xhr.mjs, so that phoenix 1.8 keeps using fetch in the other files.
import './xhr.mjs'; // first: installs the XMLHttpRequest shim before phoenix is evaluated
import * as phoenix17 from 'phoenix17';
import { runScenarios } from './lib.mjs';
import { scenarios as phoenixScenarios } from './scenarios/phoenix.mjs';
import { scenarios as liveStateScenarios } from './scenarios/livestate.mjs';
import { scenarios as presenceScenarios } from './scenarios/presence.mjs';

console.debug = () => {};
console.log = () => {};

runScenarios([
  { name: 'phoenix 1.7.21 (XMLHttpRequest)', lib: phoenix17, transports: ['longpoll'], authToken: false },
], [...phoenixScenarios, ...presenceScenarios]);

const bundles = JSON.parse(process.env.SEANCE_LVS_BUNDLES || '[]');
const legacy = bundles.filter((b) => b.name.endsWith('0.11.2'));
if (legacy.length !== 1) throw new Error('SEANCE_LVS_BUNDLES lacks phx-live-state 0.11.2');
runScenarios([
  { name: `${legacy[0].name} (XMLHttpRequest)`, lib: await import(legacy[0].path), transports: ['longpoll'] },
], liveStateScenarios);
