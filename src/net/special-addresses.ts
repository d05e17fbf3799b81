// Addresses a server-side download must never reach: they point back into this machine, its private
// network or the cloud metadata service (SSRF). Public unicast addresses are the only ones allowed.
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress } from './cidr.js';

export type AddressRefusal =
  | 'unparseable'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'metadata'
  | 'multicast'
  | 'reserved';

// Order matters: the first match names the reason, so the metadata hosts come before link-local/private.
const REFUSED: ReadonlyArray<readonly [string, AddressRefusal]> = [
  ['169.254.169.254/32', 'metadata'],
  ['169.254.170.2/32', 'metadata'], // ECS task metadata
  ['fd00:ec2::254/128', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'shared (CGNAT)'],
  ['169.254.0.0/16', 'link-local'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // documentation
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // includes 255.255.255.255
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
  ['100::/64', 'reserved'], // discard-only
  ['2001:db8::/32', 'reserved'],
  ['::/96', 'reserved'], // deprecated IPv4-compatible
];

const REFUSED_RANGES: ReadonlyArray<readonly [Cidr, AddressRefusal]> = REFUSED.map(([range, reason]) => [parseCidr(range), reason]);

// IPv6 forms that carry an IPv4 address a router or the OS may end up connecting to.
const EMBEDDED_V4: ReadonlyArray<readonly [Cidr, number]> = [
  [parseCidr('::ffff:0:0/96'), 12], // IPv4-mapped
  [parseCidr('64:ff9b::/96'), 12], // NAT64
  [parseCidr('2002::/16'), 2], // 6to4
];

/** Why `address` must not be connected to, or null when it is an ordinary public address. */
export function refusedAddressReason(address: string | IpAddress): AddressRefusal | null {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (!ip) return 'unparseable';
  if (ip.family === 6) {
    for (const [range, offset] of EMBEDDED_V4) {
      if (cidrContains(range, ip)) {
        const embedded = refusedAddressReason({ family: 4, bytes: ip.bytes.slice(offset, offset + 4) });
        if (embedded) return embedded;
      }
    }
  }
  for (const [range, reason] of REFUSED_RANGES) {
    if (range.family === ip.family && cidrContains(range, ip)) return reason;
  }
  return null;
}
