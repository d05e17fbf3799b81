// sniff() and parseProxyV2() on their own: every protocol's first bytes, each of their prefixes
// ('need-more'), garbage, and PROXY v2 headers for IPv4, IPv6, LOCAL, UNIX, with TLVs, truncated at
// every byte and corrupted; property tests (fast-check) that neither ever throws and that a complete
// header is parsed back to what was written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROXY_V2_MAX_HEADER, PROXY_V2_SIGNATURE, parseProxyV2, sniff } from '../src/router/sniff.js';

const BOLT = Buffer.from([0x60, 0x60, 0xb0, 0x17, 0, 0, 4, 5, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
// The first bytes of a real ClientHello record (TLS 1.0 record version, as clients send).
const CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

function v2(cmd: number, fam: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  PROXY_V2_SIGNATURE.copy(h);
  h[12] = 0x20 | cmd;
  h[13] = fam;
  h.writeUInt16BE(body.length, 14);
  return Buffer.concat([h, body]);
}

function inet(src: number[], dst: number[], sport: number, dport: number, extra = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return Buffer.concat([b, extra]);
}

describe('sniff', () => {
  test('each protocol is recognised from its first bytes', () => {
    assert.equal(sniff(BOLT), 'bolt');
    assert.equal(sniff(BOLT.subarray(0, 4)), 'bolt');
    assert.equal(sniff(CLIENT_HELLO), 'tls');
    assert.equal(sniff(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10, 0x01])), 'tls');
    for (const line of ['GET / HTTP/1.1\r\n', 'POST /db/neo4j/query/v2 HTTP/1.1\r\n', 'DELETE /x HTTP/1.1', 'OPTIONS * HTTP/1.1', 'GET ']) {
      assert.equal(sniff(Buffer.from(line)), 'http', line);
    }
    assert.equal(sniff(v2(1, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2))), 'proxy-v2');
  });

  test('every proper prefix of a recognised start needs more bytes', () => {
    for (const full of [BOLT.subarray(0, 4), CLIENT_HELLO.subarray(0, 6), PROXY_V2_SIGNATURE, Buffer.from('OPTIONS ')]) {
      for (let n = 0; n < full.length; n++) assert.equal(sniff(full.subarray(0, n)), 'need-more', `${full.toString('hex')} cut at ${n}`);
    }
  });

  test('anything else is unknown', () => {
    for (const bytes of [
      Buffer.from([0x60, 0x60, 0xb0, 0x18]),
      Buffer.from([0x16, 0x02]),
      Buffer.from([0x16, 0x03, 0x09]),
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 0x02]), // a handshake record that is not a ClientHello
      Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b]),
      Buffer.from(' GET / HTTP/1.1'),
      Buffer.from('get / HTTP/1.1'),
      Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), // PROXY protocol v1 is not taken
      Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
      Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'),
      Buffer.from([0x00]),
      Buffer.from([0xff, 0xff]),
    ]) {
      assert.equal(sniff(bytes), 'unknown', bytes.toString('hex'));
    }
  });

  test('property: never throws, and more bytes never turn a decision around', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        const head = Buffer.from(a);
        const first = sniff(head);
        const longer = sniff(Buffer.concat([head, Buffer.from(b)]));
        if (first !== 'need-more') assert.equal(longer, first);
      }),
      { numRuns: 2000 },
    );
    // Recognised starts followed by anything stay recognised.
    fc.assert(
      fc.property(fc.constantFrom(BOLT.subarray(0, 4), CLIENT_HELLO.subarray(0, 6), PROXY_V2_SIGNATURE, Buffer.from('PATCH ')), fc.uint8Array({ maxLength: 64 }), (start, rest) => {
        assert.notEqual(sniff(Buffer.concat([start, Buffer.from(rest)])), 'unknown');
        assert.notEqual(sniff(Buffer.concat([start, Buffer.from(rest)])), 'need-more');
      }),
    );
  });
});

describe('parseProxyV2', () => {
  test('IPv4 PROXY: addresses, ports and the header length (TLVs skipped)', () => {
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // a NOOP TLV
    const header = v2(1, 0x11, inet([192, 0, 2, 7], [10, 0, 0, 1], 51234, 7687, tlv));
    const client = Buffer.from([0x60, 0x60, 0xb0, 0x17]);
    const parsed = parseProxyV2(Buffer.concat([header, client]));
    assert.deepEqual(parsed, {
      headerLength: 16 + 12 + tlv.length,
      command: 'proxy',
      family: 'inet',
      source: { address: '192.0.2.7', port: 51234 },
      destination: { address: '10.0.0.1', port: 7687 },
    });
  });

  test('IPv6 PROXY: addresses in their short form', () => {
    const body = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(body, 0);
    Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(body, 16);
    body.writeUInt16BE(40000, 32);
    body.writeUInt16BE(443, 34);
    const parsed = parseProxyV2(v2(1, 0x21, body));
    assert.ok(!(parsed instanceof Error) && parsed !== 'need-more');
    assert.deepEqual(parsed.source, { address: '2001:db8::1', port: 40000 });
    assert.equal(parsed.destination?.port, 443);
    assert.match(parsed.destination!.address, /^::ffff:/);
    assert.equal(parsed.headerLength, 52);
  });

  test('LOCAL (health checks), UNIX and UNSPEC carry no client address', () => {
    assert.deepEqual(parseProxyV2(v2(0, 0x00, Buffer.alloc(0))), { headerLength: 16, command: 'local', family: 'unspec', source: null, destination: null });
    // LOCAL may still carry addresses; they are not the client's.
    assert.deepEqual(parseProxyV2(v2(0, 0x11, inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2))), { headerLength: 28, command: 'local', family: 'inet', source: null, destination: null });
    const unix = parseProxyV2(v2(1, 0x31, Buffer.alloc(216)));
    assert.ok(!(unix instanceof Error) && unix !== 'need-more');
    assert.equal(unix.family, 'unix');
    assert.equal(unix.source, null);
    const unspec = parseProxyV2(v2(1, 0x00, Buffer.alloc(0)));
    assert.ok(!(unspec instanceof Error) && unspec !== 'need-more');
    assert.equal(unspec.source, null);
  });

  test('every truncation of a valid header needs more bytes', () => {
    const header = v2(1, 0x11, inet([127, 0, 0, 1], [127, 0, 0, 1], 1, 2, Buffer.from([0x04, 0x00, 0x01, 0x00])));
    for (let n = 0; n < header.length; n++) assert.equal(parseProxyV2(header.subarray(0, n)), 'need-more', `cut at ${n}`);
    assert.equal(typeof parseProxyV2(header), 'object');
  });

  test('bad headers are errors naming what is wrong', () => {
    const good = v2(1, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
    const bad = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      mutate(b);
      return parseProxyV2(b);
    };
    const expectError = (r: unknown, re: RegExp) => {
      assert.ok(r instanceof Error, `an Error, got ${JSON.stringify(r)}`);
      assert.match(r.message, re);
    };
    expectError(parseProxyV2(Buffer.from('GET / HTTP/1.1\r\n')), /signature/);
    expectError(parseProxyV2(Buffer.from([0x0d, 0x0a, 0x0d, 0x0b])), /signature/);
    expectError(bad((b) => (b[12] = 0x11)), /version 1/);
    expectError(bad((b) => (b[12] = 0x2f)), /command 15/);
    expectError(bad((b) => (b[13] = 0x51)), /address family 5/);
    expectError(bad((b) => (b[13] = 0x13)), /transport 3/);
    expectError(bad((b) => (b[13] = 0x12)), /datagram/);
    expectError(bad((b) => b.writeUInt16BE(4, 14)), /too few for family inet/);
    expectError(parseProxyV2(v2(1, 0x21, Buffer.alloc(12))), /too few for family inet6/);
    // Refused from its length alone, before the bytes arrive.
    const huge = Buffer.from(good.subarray(0, 16));
    huge.writeUInt16BE(PROXY_V2_MAX_HEADER, 14);
    expectError(parseProxyV2(huge), /above the limit/);
  });

  test('property: never throws on any bytes, and round-trips any IPv4 header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, withSig) => {
        const buf = withSig ? Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from(bytes)]) : Buffer.from(bytes);
        const r = parseProxyV2(buf);
        assert.ok(r === 'need-more' || r instanceof Error || (typeof r === 'object' && r.headerLength <= buf.length));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 100 }), (ips, sport, dport, tlvs) => {
        const r = parseProxyV2(v2(1, 0x11, inet(ips.slice(0, 4), ips.slice(4), sport, dport, Buffer.from(tlvs))));
        assert.ok(!(r instanceof Error) && r !== 'need-more');
        assert.deepEqual(r.source, { address: ips.slice(0, 4).join('.'), port: sport });
        assert.deepEqual(r.destination, { address: ips.slice(4).join('.'), port: dport });
        assert.equal(r.headerLength, 28 + tlvs.length);
      }),
    );
  });
});
