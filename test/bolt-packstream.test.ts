import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkMessage, Dechunker } from '../src/graph-server/bolt/chunking.js';
import { decodeVarInt, encodeVarInt, manifestOffer, negotiate, parseManifestChoice } from '../src/graph-server/bolt/handshake.js';
import { packValue, type Structure, TAG, unpackMessage, unpackValue, type StructFormat } from '../src/graph-server/bolt/packstream.js';
import { ProtocolError } from '../src/graph-server/bolt/protocol-error.js';
import {
  CypherDate,
  CypherDateTime,
  CypherDuration,
  CypherLocalDateTime,
  CypherLocalTime,
  CypherPoint,
  CypherTime,
  Node,
  Path,
  Relationship,
  type Value,
} from '../src/graph-server/values.js';
import { graphFixture } from './helpers/bolt-fake-engine.js';

const hex = (b: Buffer) => b.toString('hex');
const BOLT44: StructFormat = { elementIds: false, utcDateTime: false };
const BOLT44_UTC: StructFormat = { elementIds: false, utcDateTime: true };

describe('PackStream integers', () => {
  const cases: [bigint, string][] = [
    [0n, '00'],
    [1n, '01'],
    [127n, '7f'],
    [128n, 'c90080'],
    [-1n, 'ff'],
    [-16n, 'f0'],
    [-17n, 'c8ef'],
    [-128n, 'c880'],
    [-129n, 'c9ff7f'],
    [32767n, 'c97fff'],
    [32768n, 'ca00008000'],
    [-32768n, 'c98000'],
    [-32769n, 'caffff7fff'],
    [2147483647n, 'ca7fffffff'],
    [2147483648n, 'cb0000000080000000'],
    [-2147483648n, 'ca80000000'],
    [-2147483649n, 'cbffffffff7fffffff'],
    [9223372036854775807n, 'cb7fffffffffffffff'],
    [-9223372036854775808n, 'cb8000000000000000'],
  ];
  for (const [value, expected] of cases) {
    it(`encodes ${value} as ${expected} and decodes it back`, () => {
      assert.equal(hex(packValue(value)), expected);
      assert.equal(unpackValue(Buffer.from(expected, 'hex')), value);
    });
  }

  it('refuses integers outside 64 bits when encoding', () => {
    assert.throws(() => packValue(9223372036854775808n), RangeError);
    assert.throws(() => packValue(-9223372036854775809n), RangeError);
  });

  it('decodes wider-than-needed encodings (decoders must accept any width)', () => {
    assert.equal(unpackValue(Buffer.from('c801', 'hex')), 1n);
    assert.equal(unpackValue(Buffer.from('c90001', 'hex')), 1n);
    assert.equal(unpackValue(Buffer.from('ca00000001', 'hex')), 1n);
    assert.equal(unpackValue(Buffer.from('cb0000000000000001', 'hex')), 1n);
  });
});

describe('PackStream scalars', () => {
  it('encodes null, booleans and floats', () => {
    assert.equal(hex(packValue(null)), 'c0');
    assert.equal(hex(packValue(true)), 'c3');
    assert.equal(hex(packValue(false)), 'c2');
    assert.equal(hex(packValue(1.1)), 'c13ff199999999999a');
    assert.equal(hex(packValue(-0.5)), 'c1bfe0000000000000');
  });

  it('keeps an integral float a Float and an Integer an Integer', () => {
    assert.equal(hex(packValue(1)), 'c13ff0000000000000');
    assert.equal(hex(packValue(1n)), '01');
    assert.equal(unpackValue(packValue(1)), 1);
    assert.equal(typeof unpackValue(packValue(1)), 'number');
    assert.equal(typeof unpackValue(packValue(1n)), 'bigint');
  });

  it('round-trips special floats', () => {
    for (const f of [0, -0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 1e-300]) {
      assert.ok(Object.is(unpackValue(packValue(f)), f), String(f));
    }
    assert.ok(Number.isNaN(unpackValue(packValue(NaN))));
  });
});

describe('PackStream sized types at marker boundaries', () => {
  const sizes: [number, string, string, string, string][] = [
    // size, string marker, list marker, map marker, bytes marker
    [0, '80', '90', 'a0', 'cc00'],
    [15, '8f', '9f', 'af', 'cc0f'],
    [16, 'd010', 'd410', 'd810', 'cc10'],
    [255, 'd0ff', 'd4ff', 'd8ff', 'ccff'],
    [256, 'd10100', 'd50100', 'd90100', 'cd0100'],
    [65535, 'd1ffff', 'd5ffff', 'd9ffff', 'cdffff'],
    [65536, 'd200010000', 'd600010000', 'da00010000', 'ce00010000'],
  ];
  for (const [n, sMarker, lMarker, mMarker, bMarker] of sizes) {
    it(`uses the right markers at size ${n}`, () => {
      const s = 'x'.repeat(n);
      const sb = packValue(s);
      assert.equal(hex(sb.subarray(0, sMarker.length / 2)), sMarker);
      assert.equal(sb.length, sMarker.length / 2 + n);
      assert.equal(unpackValue(sb), s);

      const list = Array.from({ length: n }, (_, i) => BigInt(i % 100));
      const lb = packValue(list);
      assert.equal(hex(lb.subarray(0, lMarker.length / 2)), lMarker);
      assert.deepEqual(unpackValue(lb), list);

      const map: Record<string, Value> = {};
      for (let i = 0; i < n; i++) map[`k${i}`] = BigInt(i % 3);
      const mb = packValue(map);
      assert.equal(hex(mb.subarray(0, mMarker.length / 2)), mMarker);
      assert.deepEqual(unpackValue(mb), map);

      const bytes = new Uint8Array(n).map((_, i) => i & 0xff);
      const bb = packValue(bytes);
      assert.equal(hex(bb.subarray(0, bMarker.length / 2)), bMarker);
      assert.deepEqual(unpackValue(bb), bytes);
    });
  }

  it('measures string size in UTF-8 bytes, not characters', () => {
    const s = 'é'.repeat(8); // 16 bytes
    assert.equal(hex(packValue(s).subarray(0, 2)), 'd010');
    assert.equal(unpackValue(packValue('日本語 😀')), '日本語 😀');
  });

  it('round-trips nested heterogeneous lists and maps', () => {
    const v: Value = { a: [1n, 2.5, 'x', null, true, [{ b: new Uint8Array([1, 2]) }]], 'ü': { c: -5n } };
    assert.deepEqual(unpackValue(packValue(v)), v);
  });

  it('lets the last duplicate map key win and never touches the prototype', () => {
    // {a: 1, a: 2}
    assert.deepEqual(unpackValue(Buffer.from('a2816101816102', 'hex')), { a: 2n });
    const m = unpackValue(Buffer.from('a1895f5f70726f746f5f5f01', 'hex')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    // biome-ignore lint/suspicious/noProto: the test is that a map key named __proto__ stays an own key
    assert.equal(m['__proto__'], 1n);
  });
});

describe('PackStream structures', () => {
  it('round-trips temporal and spatial values', () => {
    const values: Value[] = [
      new CypherDate(19000n),
      new CypherDate(-1000000n),
      new CypherTime(3_600_000_000_123n, -7200n),
      new CypherLocalTime(86_399_999_999_999n),
      new CypherDateTime(4500n, 42n, 3600n, null),
      new CypherDateTime(1_700_000_000n, 999_999_999n, null, 'Europe/Berlin'),
      new CypherLocalDateTime(-86400n, 1n),
      new CypherDuration(14n, -3n, 3661n, 5n),
      new CypherPoint(7203n, 1.5, -2.25),
      new CypherPoint(4979n, 13.4, 52.5, 35),
    ];
    for (const v of values) assert.deepEqual(unpackValue(packValue(v)), v);
  });

  it('encodes DateTime as UTC I/i on 5.x and as legacy local F/f on 4.4 (spec example)', () => {
    const dt = new CypherDateTime(4500n, 42n, 3600n, null);
    assert.equal(hex(packValue(dt)), 'b349' + 'c91194' + '2a' + 'c90e10');
    assert.equal(hex(packValue(dt, BOLT44)), 'b346' + 'c91fa4' + '2a' + 'c90e10');
    assert.equal(hex(packValue(dt, BOLT44_UTC)), hex(packValue(dt)));
    assert.deepEqual(unpackValue(packValue(dt, BOLT44)), dt);
    // Europe/Berlin is UTC+1 in January: legacy f carries local seconds.
    const zoned = new CypherDateTime(1_704_067_200n, 0n, null, 'Europe/Berlin'); // 2024-01-01T00:00Z
    const legacy = unpackValue(packValue(zoned, BOLT44), { structs: 'raw' }) as Structure;
    assert.equal(legacy.tag, TAG.legacyDateTimeZoneId);
    assert.equal(legacy.fields[0], 1_704_067_200n + 3600n);
    assert.deepEqual(unpackValue(packValue(zoned, BOLT44)), zoned);
  });

  it('encodes Node and Relationship with element ids on 5.x and without on 4.4', () => {
    const { alice, knows } = graphFixture();
    const n5 = unpackValue(packValue(alice), { structs: 'raw' }) as Structure;
    assert.equal(n5.tag, TAG.node);
    assert.deepEqual(n5.fields, [1n, ['Person'], { name: 'Alice' }, alice.elementId]);
    const n4 = unpackValue(packValue(alice, BOLT44), { structs: 'raw' }) as Structure;
    assert.deepEqual(n4.fields, [1n, ['Person'], { name: 'Alice' }]);
    const r5 = unpackValue(packValue(knows), { structs: 'raw' }) as Structure;
    assert.deepEqual(r5.fields, [10n, 1n, 2n, 'KNOWS', { since: 2020n }, knows.elementId, alice.elementId, knows.endElementId]);
    assert.equal((unpackValue(packValue(knows, BOLT44), { structs: 'raw' }) as Structure).fields.length, 5);
    assert.deepEqual(unpackValue(packValue(alice), { structs: 'graph' }), alice);
    assert.deepEqual(unpackValue(packValue(knows), { structs: 'graph' }), knows);
  });

  it('encodes a Path with deduplicated nodes/rels and signed 1-based rel indices', () => {
    const { path } = graphFixture();
    const p = unpackValue(packValue(path), { structs: 'raw' }) as Structure;
    assert.equal(p.tag, TAG.path);
    const [nodes, rels, indices] = p.fields as [Structure[], Structure[], bigint[]];
    assert.deepEqual(
      nodes.map((n) => n.fields[0]),
      [1n, 2n, 3n],
    );
    assert.deepEqual(
      rels.map((r) => [r.tag, r.fields.length, r.fields[0], r.fields[1]]),
      [
        [TAG.unboundRelationship, 4, 10n, 'KNOWS'],
        [TAG.unboundRelationship, 4, 11n, 'LIKES'],
      ],
    );
    // alice -[KNOWS]-> bob (forward), bob <-[LIKES]- carol (against direction)
    assert.deepEqual(indices, [1n, 1n, -2n, 2n]);
    const p44 = unpackValue(packValue(path, BOLT44), { structs: 'raw' }) as Structure;
    assert.equal(((p44.fields[1] as Structure[])[0] as Structure).fields.length, 3);
  });

  it('reuses indices when a path revisits nodes and relationships', () => {
    const a = new Node(1n, [], {}, 'n1');
    const b = new Node(2n, [], {}, 'n2');
    const r = new Relationship(5n, 1n, 2n, 'T', {}, 'r5', 'n1', 'n2');
    const loop = new Relationship(6n, 1n, 1n, 'SELF', {}, 'r6', 'n1', 'n1');
    const p = unpackValue(packValue(new Path([a, b, a, a], [r, r, loop])), { structs: 'raw' }) as Structure;
    assert.equal((p.fields[0] as unknown[]).length, 2);
    assert.equal((p.fields[1] as unknown[]).length, 2);
    assert.deepEqual(p.fields[2], [1n, 1n, -1n, 0n, 2n, 0n]);
  });

  it('refuses graph structures and unknown tags in parameters', () => {
    const { alice } = graphFixture();
    assert.throws(() => unpackValue(packValue(alice)), ProtocolError);
    assert.throws(() => unpackValue(Buffer.from('b17a01', 'hex')), ProtocolError);
    assert.throws(() => unpackValue(Buffer.from('b2440102', 'hex')), /needs 1 fields/);
    assert.throws(() => unpackValue(Buffer.from('b14481', 'hex').subarray(0, 3)), ProtocolError);
  });

  it('decodes a RUN message from the spec example bytes', () => {
    const m = unpackMessage(Buffer.from('b3108d52455455524e2031204153206ea0a0', 'hex'));
    assert.equal(m.signature, 0x10);
    assert.deepEqual(m.fields, ['RETURN 1 AS n', {}, {}]);
  });
});

describe('PackStream decoder errors', () => {
  it('throws ProtocolError for truncation, bad markers, bad UTF-8 and trailing bytes', () => {
    for (const h of ['', 'c1', 'c1000000', 'cb00', 'd0', 'd005616263', 'd1ff', '92', 'a1', 'a18161', 'b3', 'cc05', 'ce7fffffff']) {
      assert.throws(() => unpackValue(Buffer.from(h, 'hex')), ProtocolError, h);
    }
    for (const h of ['c4', 'c5', 'c6', 'c7', 'cf', 'd3', 'd7', 'db', 'de', 'df', 'e0', 'ef']) {
      assert.throws(() => unpackValue(Buffer.from(h, 'hex')), ProtocolError, h);
    }
    assert.throws(() => unpackValue(Buffer.from('82c328', 'hex')), /UTF-8/);
    assert.throws(() => unpackValue(Buffer.from('a10101', 'hex')), /keys must be strings/);
    assert.throws(() => unpackValue(Buffer.from('0101', 'hex')), /trailing/);
    assert.throws(() => unpackValue(Buffer.from('d2ffffffff', 'hex')), /exceeds/);
    assert.throws(() => unpackValue(Buffer.alloc(100_000, 0x91)), /nested too deeply/);
  });

  it('accepts the legacy struct8/struct16 markers when decoding', () => {
    assert.deepEqual(unpackValue(Buffer.from('dc014401', 'hex')), new CypherDate(1n));
    assert.deepEqual(unpackValue(Buffer.from('dd00014401', 'hex')), new CypherDate(1n));
  });
});

describe('chunking', () => {
  it('reassembles messages split at every possible byte boundary, skipping NOOPs', () => {
    const m1 = Buffer.from('b0 0f'.replace(/ /g, ''), 'hex');
    const m2 = Buffer.alloc(70_000, 7);
    const wire = Buffer.concat([Buffer.from([0, 0]), chunkMessage(m1), Buffer.from([0, 0, 0, 0]), chunkMessage(m2)]);
    for (const cut of [1, 2, 3, 4, 5, 6, 7, 100, 65_537, 65_538, 65_539, wire.length - 1]) {
      const d = new Dechunker();
      const got = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      assert.deepEqual(got, [m1, m2], `cut at ${cut}`);
    }
    const d = new Dechunker();
    const got: Buffer[] = [];
    for (const b of wire) got.push(...d.push(Buffer.from([b])));
    assert.deepEqual(got, [m1, m2]);
  });

  it('splits messages over 65535 bytes into full chunks', () => {
    const framed = chunkMessage(Buffer.alloc(65_536, 1));
    assert.equal(framed.readUInt16BE(0), 65_535);
    assert.equal(framed.readUInt16BE(2 + 65_535), 1);
    assert.equal(framed.readUInt16BE(framed.length - 2), 0);
    assert.equal(framed.length, 65_536 + 2 + 2 + 2);
    const small = chunkMessage(Buffer.alloc(16, 1));
    assert.equal(hex(small.subarray(0, 2)), '0010');
    assert.equal(small.length, 20);
  });

  it('refuses a message larger than the configured bound', () => {
    const d = new Dechunker(100_000);
    assert.throws(() => d.push(chunkMessage(Buffer.alloc(150_000))), ProtocolError);
  });
});

describe('handshake negotiation (unit)', () => {
  const pick = (h: string) => {
    const r = negotiate(Buffer.from(h.replace(/ /g, ''), 'hex'), { manifest: false });
    return r.kind === 'version' ? `${r.version.major}.${r.version.minor}` : r.kind;
  };
  it('picks the highest supported version inside the first matching proposal', () => {
    assert.equal(pick('00000005 00020404 00000104 00000003'), '5.0');
    assert.equal(pick('00050505 00020404 00000104 00000003'), '5.4');
    assert.equal(pick('00000505 00020404 00000000 00000000'), '4.4');
    assert.equal(pick('000001ff 00080805 00020404 00000003'), '5.8');
    assert.equal(pick('00000003 00000002 00000001 00000000'), 'none');
    assert.equal(pick('00000000 00000000 00000000 00000000'), 'none');
    assert.equal(pick('00000306 00000104 00000000 00000000'), 'none');
  });

  it('offers Manifest v1 with ranges that skip 5.5 and validates the client choice', () => {
    assert.equal(negotiate(Buffer.from('000001ff000808050002040400000003', 'hex')).kind, 'manifest');
    assert.equal(hex(manifestOffer()), '000001ff' + '03' + '00020805' + '00040405' + '00000404' + '00');
    assert.deepEqual(parseManifestChoice(Buffer.from('0000080500', 'hex')), { version: { major: 5, minor: 8 }, used: 5 });
    assert.equal(parseManifestChoice(Buffer.from('00000805', 'hex')), null);
    assert.throws(() => parseManifestChoice(Buffer.from('0000050500', 'hex')), ProtocolError);
    assert.throws(() => parseManifestChoice(Buffer.from('0000080501', 'hex')), ProtocolError);
  });

  it('encodes VarInts least-significant group first', () => {
    assert.equal(hex(encodeVarInt(1)), '01');
    assert.equal(hex(encodeVarInt(127)), '7f');
    assert.equal(hex(encodeVarInt(1851775)), 'ff8271');
    assert.deepEqual(decodeVarInt(Buffer.from('ff8271', 'hex'), 0), [1851775, 3]);
    assert.equal(decodeVarInt(Buffer.from('ff82', 'hex'), 0), null);
  });
});
