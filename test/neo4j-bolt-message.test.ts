// Editing the `extra` map of RUN/BEGIN passed through to Neo4j keeps every other byte as the client sent it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packer, Structure, unpackMessage } from '../src/graph-server/bolt/packstream.js';
import { editMapField, mapFieldString, packString, signatureOf, skipValue } from '../src/graph-server/engines/neo4j/bolt-message.js';
import { CypherDuration, CypherLocalDateTime } from '../src/graph-server/values.js';

function message(signature: number, fields: unknown[]): Buffer {
  const p = new Packer({ elementIds: true, utcDateTime: true });
  p.pack(new Structure(signature, fields as never[]) as never);
  return Buffer.from(p.bytes());
}

test('skipValue steps over every PackStream kind', () => {
  const values: unknown[] = [
    null, true, false, 0n, -16n, 127n, -129n, 40000n, -2147483648n, 2n ** 40n, 1.5, 'x', 'é'.repeat(20), 'a'.repeat(300), 'b'.repeat(70_000),
    Buffer.from([1, 2, 3]), [1n, 'two', [3n]], { a: 1n, b: { c: [null] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, BigInt(i)])),
    Array.from({ length: 300 }, (_, i) => BigInt(i)), new CypherLocalDateTime(1n, 175857897n), new CypherDuration(-14n, -35n, -123456n, 789n),
  ];
  for (const v of values) {
    const p = new Packer({ elementIds: true, utcDateTime: true });
    p.pack(v as never);
    const bytes = Buffer.concat([Buffer.from(p.bytes()), Buffer.from([0xc0])]);
    assert.equal(skipValue(bytes, 0), bytes.length - 1, String(v).slice(0, 40));
  }
  assert.throws(() => skipValue(Buffer.from([0xd1, 0x00]), 0), /truncated/);
});

test('editMapField sets and removes entries of RUN extra and keeps the query and parameters byte for byte', () => {
  const params = { when: new CypherLocalDateTime(1_700_000_000n, 175857897n), big: 2n ** 62n, f: -0.0, s: 'ünïcode' };
  const run = message(0x10, ['RETURN $when', params, { db: 'neo4j', mode: 'w', tx_metadata: { app: 'x', n: 7n }, imp_user: 'eve' }]);
  const edited = editMapField(run, 2, { mode: packString('r'), imp_user: null });
  assert.equal(signatureOf(edited), 0x10);
  const paramsStart = skipValue(run, 2);
  const paramsEnd = skipValue(run, paramsStart);
  assert.ok(edited.subarray(2, paramsEnd).equals(run.subarray(2, paramsEnd)), 'query and parameters unchanged');
  const decoded = unpackMessage(edited, { structs: 'raw' });
  assert.deepEqual(decoded.fields[2], { db: 'neo4j', tx_metadata: { app: 'x', n: 7n }, mode: 'r' });
  assert.equal(mapFieldString(edited, 2, 'mode'), 'r');
  assert.equal(mapFieldString(edited, 2, 'db'), 'neo4j');
});

test('editMapField adds the map a client left out, and edits BEGIN', () => {
  const bare = message(0x10, ['RETURN 1', {}]);
  assert.deepEqual(unpackMessage(editMapField(bare, 2, { mode: packString('r') }), { structs: 'raw' }).fields[2], { mode: 'r' });
  const begin = message(0x11, [{ bookmarks: ['b1'], mode: 'w' }]);
  assert.deepEqual(unpackMessage(editMapField(begin, 0, { mode: packString('r') }), { structs: 'raw' }).fields[0], { bookmarks: ['b1'], mode: 'r' });
});
