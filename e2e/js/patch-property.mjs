// Applies RFC 6902 patches produced by the Go package diff with the two
// JavaScript appliers that matter and checks the result.
//
// Usage: node e2e/js/patch-property.mjs cases.ndjson
//
// Each line of the file is {"differ":…,"case":…,"prev":…,"next":…,"patch":[…]}
// (written by TestWriteCorpus or TestPatchesApplyInJavaScript in diff/).
// Every patch is applied to prev with
//   - json-joy, exactly as phx-live-state does: applyPatch(state, patch, {mutate:false}).doc
//   - fast-json-patch 3.1.1: applyPatch(clone, patch, true) (operations validated)
// and the result must deep-equal next. Prints "N passed, M failed" (one
// check per line and applier) and exits 1 on any failure.
import { readFileSync } from 'node:fs';
import { applyPatch as joyApply } from 'json-joy/lib/json-patch/index.js';
import fjp from 'fast-json-patch';

const file = process.argv[2];
if (!file) {
  console.error('usage: node patch-property.mjs <cases.ndjson>');
  process.exit(2);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  }
  return true;
}

const appliers = {
  'json-joy': (prev, ops) => joyApply(prev, ops, { mutate: false }).doc,
  'fast-json-patch': (prev, ops) => fjp.applyPatch(structuredClone(prev), ops, true).newDocument,
};

const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
let passed = 0;
let failed = 0;
const failures = [];
const perDiffer = {};

for (const [n, line] of lines.entries()) {
  const c = JSON.parse(line);
  const stats = (perDiffer[c.differ ?? '?'] ??= { passed: 0, failed: 0 });
  for (const [name, apply] of Object.entries(appliers)) {
    let err = null;
    let got;
    try {
      if (!Array.isArray(c.patch)) throw new Error('patch is not an array: ' + JSON.stringify(c.patch));
      // Parse the line again so no applier can see another's mutations.
      const fresh = JSON.parse(line);
      got = apply(fresh.prev, fresh.patch);
      if (!deepEqual(got, c.next)) err = new Error('result differs from next');
    } catch (e) {
      err = e;
    }
    if (err) {
      failed++;
      stats.failed++;
      if (failures.length < 5) {
        failures.push({ line: n + 1, differ: c.differ, case: c.case, applier: name, error: String(err && err.message || err),
          prev: c.prev, next: c.next, patch: c.patch, got });
      }
    } else {
      passed++;
      stats.passed++;
    }
  }
}

for (const f of failures) {
  console.log(`FAIL line ${f.line} (${f.differ} case ${f.case}) with ${f.applier}: ${f.error}`);
  for (const k of ['prev', 'next', 'patch', 'got']) console.log(`  ${k}: ${JSON.stringify(f[k])}`);
}
for (const [d, s] of Object.entries(perDiffer)) console.log(`${d}: ${s.passed} passed, ${s.failed} failed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
