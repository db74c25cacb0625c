import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { EgressDeniedError } from './errors';

/**
 * Which hosts the kit's HTTP client may connect to. By default every public address is
 * reachable and nothing else: loopback, private (RFC 1918, CGNAT, ULA), link-local,
 * unspecified, multicast, reserved and cloud metadata addresses are refused, in whatever
 * form they are written (IPv4-mapped IPv6, NAT64, 6to4) and whether the URL names them
 * or a host name resolves to them. `allowedHosts` opens exceptions, as the operator's
 * `RAPPORT_CONNECTOR_ALLOWED_HOSTS` does.
 *
 * An entry is one of:
 * - a host name (`crm.internal`), or a wildcard for its subdomains (`*.corp.example`):
 *   that name is reachable whatever it resolves to, on any port;
 * - a host name and port (`crm.internal:8443`): that name on that port only;
 * - an IP address (`10.0.0.5`, `fd00::5` or `[fd00::5]`): that address, on any port,
 *   whether the URL names it or a host name resolves to it;
 * - an IP address and port (`127.0.0.1:8080`, `[::1]:8080`): that address on that port only;
 * - a CIDR range (`10.20.0.0/16`, `fd00:1::/64`): every address in it, on any port.
 *
 * A metadata address (169.254.169.254, fd00:ec2::254 and the like) is reachable only
 * through an entry naming that exact address; a range or a host name never opens it.
 *
 * @example
 * ```ts
 * const egress: EgressPolicy = { allowedHosts: ['crm.internal', '10.20.0.0/16', '127.0.0.1:9200'] };
 * const http = createHttpClient({ egress });
 * ```
 */
export interface EgressPolicy {
  /** Hosts reachable although they are not public; see {@link EgressPolicy} for the forms. @defaultValue none */
  allowedHosts?: readonly string[];
  /** Whether public addresses are reachable. The test harness sets `false`, so a test never reaches the internet. @defaultValue true */
  allowPublic?: boolean;
}

/**
 * One address a host name resolves to.
 *
 * @example
 * ```ts
 * const address: ResolvedAddress = { address: '203.0.113.7', family: 4 };
 * ```
 */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to every address it has. Inject one in tests to make a name
 * resolve to an address of your choice without touching DNS.
 *
 * @example
 * ```ts
 * const resolve: EgressResolver = async (hostname) => (hostname === 'api.acme.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
 * ```
 */
export type EgressResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * What kind of address an IP is, as the egress guard sees it. Only `public` is reachable
 * without an allowlist entry.
 *
 * @example
 * ```ts
 * const category: AddressCategory = classifyAddress('::ffff:127.0.0.1'); // 'loopback'
 * ```
 */
export type AddressCategory = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'metadata';

const CATEGORY_WORDS: Record<AddressCategory, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  metadata: 'a cloud metadata address',
};

/** The system resolver: every address, in the order the system gives them. */
export const systemResolver: EgressResolver = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

type Bytes = Uint8Array;

interface NameRule {
  kind: 'name';
  /** Lower-case name; `suffix` rules match subdomains of it. */
  name: string;
  suffix: boolean;
  port?: number;
}
interface AddressRule {
  kind: 'address';
  bytes: Bytes;
  port?: number;
}
interface RangeRule {
  kind: 'range';
  bytes: Bytes;
  /** Prefix length in the 128-bit space (an IPv4 range is mapped under ::ffff:0:0/96). */
  prefix: number;
}
type AllowRule = NameRule | AddressRule | RangeRule;

/**
 * Checks allowlist entries and returns them trimmed and lower-cased, empty ones left
 * out; throws a `RangeError` naming the first entry that is none of the forms
 * {@link EgressPolicy} lists. The operator's variable is checked with it at startup.
 *
 * @example
 * ```ts
 * parseAllowedHosts(' 10.0.0.0/8, CRM.internal:8443 '.split(',')); // ['10.0.0.0/8', 'crm.internal:8443']
 * parseAllowedHosts(['http://crm.internal']); // throws RangeError
 * ```
 */
export function parseAllowedHosts(entries: readonly string[]): string[] {
  const normalized = entries.map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '');
  toRules(normalized);
  return normalized;
}

function toRules(entries: readonly string[]): AllowRule[] {
  return entries.map((entry) => {
    const rule = parseEntry(entry.trim().toLowerCase());
    if (!rule) throw new RangeError(`"${entry}" is not a host name, host:port, IP address, IP:port or CIDR range`);
    return rule;
  });
}

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;

function parseEntry(entry: string): AllowRule | undefined {
  if (entry === '') return undefined;
  if (entry.includes('/')) {
    const [address, prefixText, ...rest] = entry.split('/');
    if (rest.length > 0 || !/^\d{1,3}$/.test(prefixText ?? '')) return undefined;
    const bytes = parseAddress(stripBrackets(address));
    if (!bytes) return undefined;
    const isV4 = isIP(stripBrackets(address)) === 4;
    const prefix = Number(prefixText) + (isV4 ? 96 : 0);
    if (prefix > 128) return undefined;
    return { kind: 'range', bytes: mask(bytes, prefix), prefix };
  }
  if (entry.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
    const bytes = match && isIP(match[1]) === 6 ? parseAddress(match[1]) : undefined;
    if (!match || !bytes) return undefined;
    const port = parsePort(match[2]);
    if (port === null) return undefined;
    return { kind: 'address', bytes, ...(port === undefined ? {} : { port }) };
  }
  const v6 = isIP(entry) === 6 ? parseAddress(entry) : undefined;
  if (v6) return { kind: 'address', bytes: v6 };
  const colon = entry.lastIndexOf(':');
  const host = colon === -1 ? entry : entry.slice(0, colon);
  const port = parsePort(colon === -1 ? undefined : entry.slice(colon + 1));
  if (port === null) return undefined;
  const portPart = port === undefined ? {} : { port };
  const v4 = isIP(host) === 4 ? parseAddress(host) : undefined;
  if (v4) return { kind: 'address', bytes: v4, ...portPart };
  if (!HOST_NAME.test(host) || /^[0-9.]+$/.test(host)) return undefined;
  const suffix = host.startsWith('*.');
  return { kind: 'name', name: (suffix ? host.slice(2) : host).replace(/\.$/, ''), suffix, ...portPart };
}

/** `undefined` when absent, `null` when not a port. */
function parsePort(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** An IP address as 16 bytes (IPv4 as ::ffff:a.b.c.d); `undefined` when it is not one. */
function parseAddress(text: string): Bytes | undefined {
  const address = text.replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...address.split('.').map(Number)]);
  if (version !== 6) return undefined;
  // A trailing dotted quad (::ffff:127.0.0.1) is the last two groups.
  const hex = address.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_all, a: string, b: string, c: string, d: string) => `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  let words: number[];
  if (hex.includes('::')) {
    const [left, right] = hex.split('::') as [string, string];
    const l = groups(left);
    const r = groups(right);
    words = [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  } else {
    words = groups(hex);
  }
  if (words.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

function mask(bytes: Bytes, prefix: number): Bytes {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function inRange(bytes: Bytes, range: Bytes, prefix: number): boolean {
  const masked = mask(bytes, prefix);
  return masked.every((byte, i) => byte === range[i]);
}

function equal(a: Bytes, b: Bytes): boolean {
  return a.every((byte, i) => byte === b[i]);
}

/** The bytes of an address this module writes as a constant; a typo in one fails at load. */
function constantAddress(text: string): Bytes {
  const bytes = parseAddress(text);
  if (!bytes) throw new Error(`egress: "${text}" is not an IP address`);
  return bytes;
}

const cidr = (text: string): [Bytes, number] => {
  const [address, prefix] = text.split('/') as [string, string];
  const v4 = isIP(address) === 4;
  return [constantAddress(address), Number(prefix) + (v4 ? 96 : 0)];
};

/** Special-purpose IPv4 ranges (IANA registry) that a connector has no business reaching. */
const V4_RANGES: Array<[[Bytes, number], AddressCategory]> = [
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'private'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'],
  [cidr('192.0.2.0/24'), 'reserved'],
  [cidr('192.88.99.0/24'), 'reserved'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'reserved'],
  [cidr('198.51.100.0/24'), 'reserved'],
  [cidr('203.0.113.0/24'), 'reserved'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

/** Cloud instance metadata endpoints: AWS (IMDS, ECS, EKS pod identity), GCP, Azure, OpenStack, Alibaba. */
const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', 'fd00:ec2::254', 'fd00:ec2::23'].map(constantAddress);
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const MAPPED_V4 = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const GLOBAL_UNICAST = cidr('2000::/3');
const V6_RANGES: Array<[[Bytes, number], AddressCategory]> = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('fc00::/7'), 'private'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'private'],
  [cidr('ff00::/8'), 'multicast'],
  // Inside 2000::/3: IETF protocol assignments (Teredo among them), documentation.
  [cidr('2001::/23'), 'reserved'],
  [cidr('2001:db8::/32'), 'reserved'],
  [cidr('3fff::/20'), 'reserved'],
];

function v4Bytes(bytes: Bytes): Bytes {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes]);
}

function categoryOf(bytes: Bytes): AddressCategory {
  if (METADATA_ADDRESSES.some((address) => equal(address, bytes))) return 'metadata';
  if (inRange(bytes, ...MAPPED_V4)) {
    return V4_RANGES.find(([[range, prefix]]) => inRange(bytes, range, prefix))?.[1] ?? 'public';
  }
  // Forms that carry an IPv4 address a gateway will forward to: judge the IPv4 address.
  if (inRange(bytes, ...NAT64)) return categoryOf(v4Bytes(bytes.slice(12, 16)));
  if (inRange(bytes, ...SIX_TO_FOUR)) return categoryOf(v4Bytes(bytes.slice(2, 6)));
  const special = V6_RANGES.find(([[range, prefix]]) => inRange(bytes, range, prefix));
  if (special) return special[1];
  // Only 2000::/3 is allocated as global unicast; everything else (IPv4-compatible ::/96 among it) is reserved.
  return inRange(bytes, ...GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/**
 * Classifies an IP address (v4 or v6, in any form the URL parser or a resolver produces).
 * Throws a `TypeError` for something that is not an IP address.
 *
 * @example
 * ```ts
 * classifyAddress('10.1.2.3'); // 'private'
 * classifyAddress('[::ffff:169.254.169.254]'); // 'metadata'
 * classifyAddress('8.8.8.8'); // 'public'
 * ```
 */
export function classifyAddress(address: string): AddressCategory {
  const bytes = parseAddress(stripBrackets(address));
  if (!bytes) throw new TypeError(`"${address}" is not an IP address`);
  return categoryOf(bytes);
}

/**
 * The egress guard of one client: checks a URL's host, resolving it first when it is a
 * name, and returns the addresses to connect to — only those, so a name cannot resolve
 * to something else between the check and the connection (DNS rebinding).
 */
export class EgressGuard {
  private readonly rules: readonly AllowRule[];
  private readonly allowPublic: boolean;

  constructor(
    policy: EgressPolicy,
    private readonly resolve: EgressResolver = systemResolver,
  ) {
    this.rules = toRules(policy.allowedHosts ?? []);
    this.allowPublic = policy.allowPublic ?? true;
  }

  /**
   * The checked addresses of `url`'s host; throws {@link EgressDeniedError} when the
   * scheme is not HTTP(S) or any address the host has is refused. Resolver failures
   * propagate as they are (a network failure, retried by the client).
   */
  async check(url: URL): Promise<ResolvedAddress[]> {
    const target = `${url.protocol}//${url.host}`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressDeniedError(target, `only http and https are allowed, not ${url.protocol}`);
    const host = stripBrackets(url.hostname).replace(/\.$/, '').toLowerCase();
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const nameAllowed = this.nameAllowed(host, port);
    if (METADATA_NAMES.has(host) && !nameAllowed) throw new EgressDeniedError(target, 'it is a cloud metadata endpoint');

    const literal = isIP(host);
    const addresses: ResolvedAddress[] = literal ? [{ address: host, family: literal === 6 ? 6 : 4 }] : await this.resolve(host);
    if (addresses.length === 0) throw new Error(`${host} has no address`);
    for (const { address } of addresses) this.checkAddress(target, host, address, port, nameAllowed);
    return addresses;
  }

  /**
   * Throws {@link EgressDeniedError} unless a connection to `address` on `port`,
   * reached by the name `host` (the address itself when it was given as one), is
   * allowed: the check a socket makes once the name is resolved. `target` names
   * the destination in the error.
   */
  checkAddress(target: string, host: string, address: string, port: number, nameAllowed = this.nameAllowed(host, port)): void {
    const bytes = parseAddress(stripBrackets(address));
    // A resolver answer that is not an address is refused rather than handed to the socket.
    if (!bytes) throw new EgressDeniedError(target, 'its address could not be checked');
    if (this.allows(bytes, port, nameAllowed)) return;
    const category = categoryOf(bytes);
    const literal = isIP(stripBrackets(host)) !== 0;
    throw new EgressDeniedError(
      target,
      category === 'public'
        ? 'only the hosts in the allowlist are reachable'
        : `it is ${literal ? '' : 'a name for '}${CATEGORY_WORDS[category]}, and not in the allowlist (RAPPORT_CONNECTOR_ALLOWED_HOSTS)`,
    );
  }

  /** Whether a name rule of the allowlist admits `host` on `port`. */
  private nameAllowed(host: string, port: number): boolean {
    const name = stripBrackets(host).replace(/\.$/, '').toLowerCase();
    return this.rules.some(
      (rule) =>
        rule.kind === 'name' && (rule.port === undefined || rule.port === port) && (rule.name === name || (rule.suffix && name.endsWith(`.${rule.name}`))),
    );
  }

  private allows(bytes: Bytes, port: number, nameAllowed: boolean): boolean {
    const exact = this.rules.some((rule) => rule.kind === 'address' && equal(rule.bytes, bytes) && (rule.port === undefined || rule.port === port));
    const category = categoryOf(bytes);
    if (category === 'metadata') return exact;
    if (exact || nameAllowed) return true;
    if (this.rules.some((rule) => rule.kind === 'range' && inRange(bytes, rule.bytes, rule.prefix))) return true;
    return category === 'public' && this.allowPublic;
  }
}
