// The part of node:assert/strict the shared scenarios use (equal, notEqual,
// ok, deepEqual), for the browser: the runner bundle is built with
// --alias:node:assert/strict=./browser/assert.mjs. Same semantics as Node's
// strict mode: Object.is for primitives; deepEqual compares prototypes, own
// enumerable keys, and the bytes of ArrayBuffers and typed arrays.

/** AssertionError mirrors Node's: actual, expected, operator. */
export class AssertionError extends Error {
  constructor({ message, actual, expected, operator }) {
    super(message ?? `expected ${render(actual)} ${operator} ${render(expected)}`);
    this.name = 'AssertionError';
    Object.assign(this, { actual, expected, operator });
  }
}

function render(v) {
  try {
    return JSON.stringify(v, (_k, x) => {
      if (x instanceof ArrayBuffer) return { ArrayBuffer: [...new Uint8Array(x)] };
      if (x === undefined) return '<undefined>';
      return x;
    });
  } catch {
    return String(v);
  }
}

function fail(message, actual, expected, operator) {
  if (message instanceof Error) throw message;
  const detail = `${render(actual)} ${operator} ${render(expected)}`;
  throw new AssertionError({ message: message ? `${message}: ${detail}` : undefined, actual, expected, operator });
}

function sameBytes(a, b) {
  const x = new Uint8Array(a.buffer ?? a, a.byteOffset ?? 0, a.byteLength);
  const y = new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** isDeepStrictEqual follows Node's deepStrictEqual for JSON-like values, arrays and binary data. */
export function isDeepStrictEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof ArrayBuffer || ArrayBuffer.isView(a)) return sameBytes(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual(a[k], b[k]));
}

/** ok asserts that value is truthy. */
export function ok(value, message) {
  if (!value) fail(message, value, true, '==');
}

/** equal asserts Object.is(actual, expected). */
export function equal(actual, expected, message) {
  if (!Object.is(actual, expected)) fail(message, actual, expected, 'strictEqual');
}

/** notEqual asserts !Object.is(actual, expected). */
export function notEqual(actual, expected, message) {
  if (Object.is(actual, expected)) fail(message, actual, expected, 'notStrictEqual');
}

/** deepEqual asserts isDeepStrictEqual(actual, expected). */
export function deepEqual(actual, expected, message) {
  if (!isDeepStrictEqual(actual, expected)) fail(message, actual, expected, 'deepStrictEqual');
}

/** The default export is callable like Node's assert (assert(value) = ok). */
const assert = Object.assign((value, message) => ok(value, message), {
  ok, equal, notEqual, deepEqual, strictEqual: equal, notStrictEqual: notEqual, deepStrictEqual: deepEqual, AssertionError,
});
export default assert;
