// The header by which the router tells a node where its database's Bolt is public (src/net/public-bolt.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePublicBolt, withPublicBolt } from '../src/net/public-bolt.js';

describe('public Bolt header', () => {
  test('is added right after the request line of an HTTP/1 request, the rest untouched', () => {
    const head = Buffer.from('GET / HTTP/1.1\r\nHost: db.example.org:7474\r\n\r\n');
    assert.equal(withPublicBolt(head, 24787, false).toString(), 'GET / HTTP/1.1\r\nallotrope-public-bolt: 24787\r\nHost: db.example.org:7474\r\n\r\n');
    assert.equal(withPublicBolt(head, 7687, true).toString().split('\r\n')[1], 'allotrope-public-bolt: 7687; tls');
  });

  test('leaves anything else alone: no whole request line, HTTP/2, not HTTP', () => {
    for (const raw of ['GET / HTT', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\x16\x03\x01\x00']) {
      const head = Buffer.from(raw, 'latin1');
      assert.equal(withPublicBolt(head, 1, false), head);
    }
  });

  test('is read back; the router\'s value wins over one a client sent too (joined after it)', () => {
    assert.deepEqual(parsePublicBolt('24787'), { port: '24787', tls: false });
    assert.deepEqual(parsePublicBolt('7687; tls'), { port: '7687', tls: true });
    assert.deepEqual(parsePublicBolt('7687, 9999; tls'), { port: '7687', tls: false });
    for (const bad of [undefined, '', 'x', '123456', '80;tls', ['1', '2']]) assert.equal(parsePublicBolt(bad), undefined, String(bad));
  });
});
