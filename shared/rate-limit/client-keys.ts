import crypto from 'node:crypto';
import net from 'node:net';
import { emailComparisonKey } from '../domain/email-address.js';

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups written another way.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head, rest, ...more] = text.split('::');
  if (more.length > 0) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const left = parse(head);
  const right = parse(rest);
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 0) return undefined;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

/**
 * The limit key of a client address: an IPv4 address as it is (also when written as
 * IPv4-mapped IPv6), an IPv6 address as its /64, since one subscriber usually holds a
 * whole /64 and could otherwise take a fresh address per attempt.
 */
export function ipLimitKey(ip: string | undefined): string {
  const address = ip?.trim().replace(/%.*$/, '').toLowerCase();
  if (!address) return 'unknown';
  if (net.isIPv4(address)) return address;
  if (!net.isIPv6(address)) return 'unknown';
  const groups = ipv6Groups(address);
  if (!groups) return 'unknown';
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/**
 * The network of a client address as the anomaly guard and login history see it
 * (login_ip_prefix): an IPv4 address's /24, an IPv6 address's /64.
 */
export function networkLimitKey(ip: string | undefined): string {
  const key = ipLimitKey(ip);
  return net.isIPv4(key) ? `${key.split('.').slice(0, 3).join('.')}.0/24` : key;
}

/**
 * The limit key of an account named by email: the canonical address compared without
 * case exactly as the citext column does, hashed so that Redis holds no addresses.
 */
export function accountLimitKey(email: string): string {
  return crypto.createHash('sha256').update(emailComparisonKey(email)).digest('base64url').slice(0, 27);
}
