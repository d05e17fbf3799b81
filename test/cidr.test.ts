import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CidrError, cidrContains, formatCidr, formatIp, parseCidr, parseIp } from '../src/net/cidr.js';
import { refusedAddressReason } from '../src/net/special-addresses.js';

describe('parseIp', () => {
  it('parses IPv4 and IPv6 into bytes', () => {
    assert.deepEqual(Array.from(parseIp('192.168.1.20')!.bytes), [192, 168, 1, 20]);
    const v6 = parseIp('2001:db8::1')!;
    assert.equal(v6.family, 6);
    assert.deepEqual(Array.from(v6.bytes), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('parses an IPv6 address with an embedded IPv4 tail, brackets and a zone id', () => {
    assert.deepEqual(Array.from(parseIp('::ffff:127.0.0.1')!.bytes.slice(10)), [0xff, 0xff, 127, 0, 0, 1]);
    assert.equal(formatIp(parseIp('[::1]')!), '::1');
    assert.equal(formatIp(parseIp('fe80::1%eth0')!), 'fe80::1');
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', '1.2.3', '256.1.1.1', '1.2.3.4.5', 'example.com', '::g', '1:2:3:4:5:6:7:8:9', '01.2.3.4']) {
      assert.equal(parseIp(bad), null, bad);
    }
  });
});

describe('parseCidr', () => {
  it('parses v4 and v6 ranges and clears host bits', () => {
    assert.equal(formatCidr(parseCidr('10.1.2.3/8')), '10.0.0.0/8');
    assert.equal(formatCidr(parseCidr('172.16.0.0/12')), '172.16.0.0/12');
    assert.equal(formatCidr(parseCidr('2001:DB8:0:0:1::/32')), '2001:db8::/32');
    assert.equal(formatCidr(parseCidr('fe80::/10')), 'fe80::/10');
    assert.equal(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
    assert.equal(formatCidr(parseCidr('::/0')), '::/0');
  });

  it('treats a bare address as a single host', () => {
    assert.equal(formatCidr(parseCidr('203.0.113.9')), '203.0.113.9/32');
    assert.equal(formatCidr(parseCidr('2001:db8::5')), '2001:db8::5/128');
  });

  it('throws a CidrError naming the input for bad ranges', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', 'abc/8', '', '10.0.0.0/ 8', '[::1]/128']) {
      assert.throws(() => parseCidr(bad), (err: unknown) => err instanceof CidrError && err.message.includes(`'${bad}'`), bad);
    }
  });
});

describe('cidrContains', () => {
  it('matches IPv4 addresses at the edges of a range', () => {
    assert.equal(cidrContains('172.16.0.0/12', '172.16.0.0'), true);
    assert.equal(cidrContains('172.16.0.0/12', '172.31.255.255'), true);
    assert.equal(cidrContains('172.16.0.0/12', '172.32.0.0'), false);
    assert.equal(cidrContains('172.16.0.0/12', '172.15.255.255'), false);
    assert.equal(cidrContains('100.64.0.0/10', '100.127.1.1'), true);
    assert.equal(cidrContains('100.64.0.0/10', '100.128.0.0'), false);
    assert.equal(cidrContains('0.0.0.0/0', '8.8.8.8'), true);
    assert.equal(cidrContains('203.0.113.9/32', '203.0.113.9'), true);
    assert.equal(cidrContains('203.0.113.9/32', '203.0.113.10'), false);
  });

  it('matches IPv6 addresses, including prefixes that end inside a byte', () => {
    assert.equal(cidrContains('fe80::/10', 'febf:ffff::1'), true);
    assert.equal(cidrContains('fe80::/10', 'fec0::1'), false);
    assert.equal(cidrContains('fc00::/7', 'fd12:3456::1'), true);
    assert.equal(cidrContains('fc00::/7', 'fe00::1'), false);
    assert.equal(cidrContains('2001:db8::/32', '2001:db8:ffff::1'), true);
    assert.equal(cidrContains('2001:db8::/32', '2001:db9::1'), false);
  });

  it('matches an IPv4-mapped IPv6 client against IPv4 ranges and the reverse', () => {
    assert.equal(cidrContains('10.0.0.0/8', '::ffff:10.1.2.3'), true);
    assert.equal(cidrContains('10.0.0.0/8', '::ffff:11.1.2.3'), false);
    assert.equal(cidrContains('::ffff:10.0.0.0/104', '10.9.9.9'), true);
    assert.equal(cidrContains('10.0.0.0/8', '2001:db8::1'), false);
    assert.equal(cidrContains('2001:db8::/32', '10.0.0.1'), false);
  });

  it('matches nothing for an unparseable address', () => {
    assert.equal(cidrContains('0.0.0.0/0', 'not-an-ip'), false);
  });
});

describe('refusedAddressReason', () => {
  const cases: Array<[string, string | null]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.20.30.40', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.0.1', 'private'],
    ['fd12::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['8.8.8.8', null],
    ['52.216.1.1', null],
    ['172.32.0.1', null],
    ['2600:1f18::1', null],
    ['::ffff:8.8.8.8', null],
    ['nonsense', 'unparseable'],
  ];
  for (const [address, reason] of cases) {
    it(`${address} → ${reason ?? 'allowed'}`, () => {
      assert.equal(refusedAddressReason(address), reason);
    });
  }
});
