import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Peer systems the benchmarks measure Rapport against, installed on first use
 * into their own folders under bench/peers (never dependencies of Rapport).
 */
const PEERS = path.join(__dirname);

/** True when `node` (a binary path) is Node 22 or newer. */
function isNode22(node: string): boolean {
  try {
    return Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim()) >= 22;
  } catch {
    return false;
  }
}

/**
 * A Node 22 binary for the peer (and for Rapport's gateway beside it, so both
 * run on the same runtime): this process's own when it is 22 or newer,
 * `RAPPORT_NODE22` when set, else the `node@22` npm package installed into
 * bench/peers/node22 on first use (it ships the binary; no system install).
 */
export function node22(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const given = process.env.RAPPORT_NODE22;
  if (given) {
    if (!isNode22(given)) throw new Error(`RAPPORT_NODE22=${given} is not a Node 22 binary`);
    return given;
  }
  const dir = path.join(PEERS, 'node22');
  const binary = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log('  installing node@22 into bench/peers/node22 (first use)');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', 'node@22'], { stdio: 'ignore' });
  }
  if (!isNode22(binary)) throw new Error(`${binary} is not a Node 22 binary`);
  return binary;
}

/** Installs PostGraphile's folder (bench/peers/postgraphile) on first use; false when npm cannot (offline). */
export function installPostGraphile(): boolean {
  const dir = path.join(PEERS, 'postgraphile');
  if (existsSync(path.join(dir, 'node_modules', 'postgraphile'))) return true;
  console.log('  installing PostGraphile into bench/peers/postgraphile (first use)');
  try {
    execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    console.log(`  could not install PostGraphile: ${(error as Error).message.split('\n')[0]}`);
    return false;
  }
}

/** A server in its own process, started on a free port; resolves once `ready` matches its output, with the port. */
export function startServer(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  cwd: string,
): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready within 120 s:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        const stop = () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          });
        resolve({ child, port: Number(match[1]), stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}
