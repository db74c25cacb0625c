import { EgressGuard, classifyAddress, parseAllowedHosts, type EgressPolicy, type ResolvedAddress } from './egress';
import { EgressDeniedError } from './errors';

describe('classifyAddress', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.2.3.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:a00:1::', 'private'],
    ['2001::1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['100.128.0.1', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  test('throws for something that is not an address', () => {
    expect(() => classifyAddress('localhost')).toThrow(TypeError);
  });
});

describe('parseAllowedHosts', () => {
  test('accepts names, wildcards, name:port, IPs, IP:port, bracketed IPv6 and CIDR ranges, normalised', () => {
    expect(
      parseAllowedHosts([
        ' CRM.internal ',
        '*.corp.example',
        'csv.corp.example:8443',
        '10.0.0.5',
        '127.0.0.1:9200',
        'fd00::5',
        '[::1]:8080',
        '10.20.0.0/16',
        'fd00:1::/64',
        '',
      ]),
    ).toEqual([
      'crm.internal',
      '*.corp.example',
      'csv.corp.example:8443',
      '10.0.0.5',
      '127.0.0.1:9200',
      'fd00::5',
      '[::1]:8080',
      '10.20.0.0/16',
      'fd00:1::/64',
    ]);
  });

  test.each(['http://crm.internal', 'crm.internal/path', '10.0.0.0/33', 'fd00::/129', 'host:0', 'host:70000', '[::1', 'a b', '*.', '999.1.1.1', 'user@host'])(
    'refuses %j',
    (entry) => {
      expect(() => parseAllowedHosts([entry])).toThrow(RangeError);
    },
  );
});

describe('EgressGuard', () => {
  const table: Record<string, string[]> = {
    'csv.corp.test': ['10.1.1.1'],
    'api.partner.test': ['93.184.216.34'],
    'meta.corp.test': ['169.254.169.254'],
  };
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> =>
    (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const verdict = async (policy: EgressPolicy, url: string) =>
    new EgressGuard(policy, resolve).check(new URL(url)).then(
      () => 'allowed',
      (error: unknown) => (error instanceof EgressDeniedError ? 'denied' : `failed: ${String(error)}`),
    );

  test('allows public addresses and refuses the rest by default', async () => {
    expect(await verdict({}, 'https://api.partner.test/v1')).toBe('allowed');
    expect(await verdict({}, 'https://8.8.8.8/')).toBe('allowed');
    expect(await verdict({}, 'https://csv.corp.test/x.csv')).toBe('denied');
    expect(await verdict({}, 'ftp://api.partner.test/')).toBe('denied');
  });

  test('a host name entry opens that name, on its port when it has one', async () => {
    expect(await verdict({ allowedHosts: ['csv.corp.test'] }, 'https://csv.corp.test/x.csv')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['*.corp.test'] }, 'https://csv.corp.test/x.csv')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['csv.corp.test:8443'] }, 'https://csv.corp.test/x.csv')).toBe('denied');
    expect(await verdict({ allowedHosts: ['csv.corp.test:8443'] }, 'https://csv.corp.test:8443/x.csv')).toBe('allowed');
    // The name, not the address: another name resolving to the same address stays refused.
    expect(await verdict({ allowedHosts: ['other.corp.test'] }, 'https://csv.corp.test/x.csv')).toBe('denied');
  });

  test('an address or range entry opens it whether the URL names it or a name resolves to it', async () => {
    expect(await verdict({ allowedHosts: ['10.1.1.1'] }, 'https://csv.corp.test/x.csv')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['10.0.0.0/8'] }, 'https://csv.corp.test/x.csv')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['10.0.0.0/8'] }, 'http://[::ffff:10.9.9.9]/')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['10.1.1.1:80'] }, 'https://csv.corp.test/x.csv')).toBe('denied');
  });

  test('a metadata address opens only by its exact address, never by a range or a host name', async () => {
    expect(await verdict({ allowedHosts: ['169.254.0.0/16'] }, 'http://169.254.169.254/latest/')).toBe('denied');
    expect(await verdict({ allowedHosts: ['0.0.0.0/0'] }, 'http://169.254.169.254/latest/')).toBe('denied');
    expect(await verdict({ allowedHosts: ['meta.corp.test'] }, 'http://meta.corp.test/latest/')).toBe('denied');
    expect(await verdict({ allowedHosts: ['169.254.169.254'] }, 'http://169.254.169.254/latest/')).toBe('allowed');
    expect(await verdict({ allowedHosts: ['169.254.0.0/16'] }, 'http://169.254.10.10/')).toBe('allowed');
  });

  test('with allowPublic false only allowlisted hosts are reachable', async () => {
    expect(await verdict({ allowPublic: false }, 'https://api.partner.test/v1')).toBe('denied');
    expect(await verdict({ allowPublic: false, allowedHosts: ['api.partner.test'] }, 'https://api.partner.test/v1')).toBe('allowed');
  });

  test('returns the checked addresses, which the transport connects to', async () => {
    await expect(new EgressGuard({ allowedHosts: ['10.0.0.0/8'] }, resolve).check(new URL('https://csv.corp.test/x.csv'))).resolves.toEqual([
      { address: '10.1.1.1', family: 4 },
    ]);
  });
});
