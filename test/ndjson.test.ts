// The NDJSON reader both ends of the query-check socket use (src/net/ndjson.ts), fed chunks as a
// socket may deliver them: split mid-line and mid-character, several lines at once, garbage, and an
// unfinished line past the bound.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NDJSON_MAX_LINE_CHARS, ndjsonReader } from '../src/net/ndjson.js';

function collect(maxLineChars?: number) {
  const values: unknown[] = [];
  const invalid: string[] = [];
  const push = ndjsonReader({
    onMessage: (value) => void values.push(value),
    onInvalid: (reason) => void invalid.push(reason),
    ...(maxLineChars === undefined ? {} : { maxLineChars }),
  });
  return { values, invalid, push };
}

describe('ndjsonReader', () => {
  test('a line split over several chunks, even inside a multi-byte character, is read once, whole', () => {
    const { values, invalid, push } = collect();
    const bytes = Buffer.from(`${JSON.stringify({ id: 1, query: "RETURN 'größe ✓'" })}\n`, 'utf8');
    const cut = bytes.indexOf(Buffer.from('✓', 'utf8')) + 1; // inside the three bytes of ✓
    push(bytes.subarray(0, 5));
    push(bytes.subarray(5, cut));
    assert.deepEqual(values, []);
    push(bytes.subarray(cut));
    assert.deepEqual(values, [{ id: 1, query: "RETURN 'größe ✓'" }]);
    assert.deepEqual(invalid, []);
  });

  test('several lines in one chunk arrive in order; a trailing partial line waits for its end', () => {
    const { values, push } = collect();
    push(Buffer.from('{"id":1}\n{"id":2}\n{"type":"ready"}\n{"id":'));
    assert.deepEqual(values, [{ id: 1 }, { id: 2 }, { type: 'ready' }]);
    push(Buffer.from('3}\n'));
    assert.deepEqual(values, [{ id: 1 }, { id: 2 }, { type: 'ready' }, { id: 3 }]);
  });

  test('a line that is not JSON stops the reader: later lines, even in the same chunk, are not read', () => {
    const { values, invalid, push } = collect();
    push(Buffer.from('{"id":1}\nnot json\n{"id":2}\n'));
    push(Buffer.from('{"id":3}\n'));
    assert.deepEqual(values, [{ id: 1 }]);
    assert.deepEqual(invalid, ['not-json']);
  });

  test('onMessage returning false stops the reader', () => {
    const values: unknown[] = [];
    const push = ndjsonReader({ onMessage: (v) => (values.push(v), false), onInvalid: () => assert.fail('not invalid') });
    push(Buffer.from('{"id":1}\n{"id":2}\n'));
    assert.deepEqual(values, [{ id: 1 }]);
  });

  test('an unfinished line over the bound stops the reader; one exactly at the bound is kept', () => {
    const { values, invalid, push } = collect(10);
    push(Buffer.from('"12345678')); // 9 characters, no newline yet
    push(Buffer.from('"')); // 10: at the bound
    assert.deepEqual(invalid, []);
    push(Buffer.from('\n"123456789')); // 10 unfinished characters
    assert.deepEqual(values, ['12345678']);
    push(Buffer.from('x')); // 11 unfinished characters
    assert.deepEqual(invalid, ['too-long']);
    push(Buffer.from('"\n{"id":1}\n'));
    assert.deepEqual(values, ['12345678']);
  });

  test('the default bound is a million characters, checked on the unfinished line only', () => {
    const { values, invalid, push } = collect();
    const long = JSON.stringify('x'.repeat(NDJSON_MAX_LINE_CHARS + 10));
    push(Buffer.from(`${long}\n`)); // complete lines of any length are read
    assert.equal(values.length, 1);
    push(Buffer.from(long));
    assert.deepEqual(invalid, ['too-long']);
  });
});
