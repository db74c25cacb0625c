import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { EgressGuard, type EgressPolicy } from '@rapport/connector-kit';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
type Lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

function denied(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`Access to this API has been restricted: ${message}`), { code: 'ERR_ACCESS_DENIED' });
}

/** Replaces a property for good: the plugin, loaded after this, can neither restore nor redefine it. */
function seal<T extends object>(target: T, name: keyof T & string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: false, configurable: false, enumerable: false });
}

/**
 * The egress policy for every TCP connection the host opens, whoever opens it.
 *
 * The kit's client checks its requests itself, but plugin code may call `fetch`,
 * `http.request` or `net.connect` directly, and Node's permission model (before
 * `--allow-net`, which would also shut out the kit's client) leaves the network
 * open. Every TCP or TLS client socket in Node, undici's included, connects
 * through `net.Socket.prototype.connect`: sealed here before any plugin code
 * loads, it checks a literal address at once and a name after it resolves,
 * against the same {@link EgressGuard} as the kit's client. Unix sockets (a
 * local Postgres or Redis), UDP and listening are refused outright: a plugin
 * has no use for them. `process.binding` is already refused by the permission
 * model, so the wrapped methods are the only way to a socket.
 *
 * This is a guard inside the process, not a wall around it: docs/security.md
 * says which network controls an operator adds outside the process.
 */
export function lockDownNetwork(policy: EgressPolicy): void {
  const guard = new EgressGuard(policy);
  const connect = net.Socket.prototype.connect;
  const systemLookup = dns.lookup as unknown as Lookup;

  function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect hands over its normalized arguments as one array (options first); a direct call gives
    // options, or a port and host, or a path. Whatever the form, the options object connect reads is `options`.
    const first = args[0];
    let options: Record<string, unknown>;
    if (Array.isArray(first)) options = first[0] as Record<string, unknown>;
    else if (typeof first === 'object' && first !== null) args[0] = options = { ...(first as Record<string, unknown>) };
    else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      options = { port: first, ...(typeof args[1] === 'string' ? { host: args[1] } : {}) };
      args = [options, ...args.slice(typeof args[1] === 'string' ? 2 : 1)];
    } else options = { path: first };
    const fail = (error: NodeJS.ErrnoException) => {
      process.nextTick(() => this.destroy(error));
      return this;
    };
    // Node connects to a Unix socket whenever `path` is set (the HTTP agent leaves it null for TCP).
    if (options.path) return fail(denied('plugins cannot open local (Unix) sockets'));
    const host = typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
    const port = Number(options.port);
    const target = `tcp://${host}:${options.port as string}`;
    if (net.isIP(host)) {
      try {
        guard.checkAddress(target, host, host, port);
      } catch (error) {
        return fail(error as NodeJS.ErrnoException);
      }
      return connect.apply(this, args as Parameters<typeof connect>);
    }
    // A name: the addresses it resolves to are checked before the socket uses them.
    const lookup = (typeof options.lookup === 'function' ? options.lookup : systemLookup) as Lookup;
    options.lookup = (hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback) =>
      lookup(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        try {
          const list = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
          for (const entry of list) guard.checkAddress(target, hostname, entry.address, port);
        } catch (refused) {
          return callback(refused as NodeJS.ErrnoException, Array.isArray(address) ? [] : '', family);
        }
        callback(null, address, family);
      });
    return connect.apply(this, args as Parameters<typeof connect>);
  }

  seal(net.Socket.prototype, 'connect', guardedConnect);
  seal(net.Server.prototype, 'listen', () => {
    throw denied('plugins cannot listen for connections');
  });
  // The class as well as the factory: `new dgram.Socket('udp4')` sends without createSocket.
  for (const name of ['createSocket', 'Socket'] as const) {
    // A function, not an arrow: `new` must reach the throw, not fail as "not a constructor".
    seal(dgram, name, function refuseUdp() {
      throw denied('plugins cannot use UDP');
    });
  }
}
