// The Neo4j engine of one node: the launcher JVM (engines/neo4j, embedded Neo4j Community with Bolt on a
// loopback port), supervised by the graph-server. Its stdout speaks lines (READY, OK …, ERROR …, STOPPED);
// its stdin takes commands (checkpoint, snapshot DIR, stop). The graph-server owns the internal password.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Neo4jEngineFiles {
  /** The engine install: `<dir>/lib/*` is the class path. */
  installDir: string;
  mainClass: string;
  java: string;
  /** From the install's manifest: the JVM flags it needs, and its class-data sharing archive. */
  jvmFlags?: string[];
  cdsArchive?: string | null;
}

export interface Neo4jJvmOptions extends Neo4jEngineFiles {
  /** The graph-server's data dir; Neo4j's home is `<dataDir>/neo4j`. */
  dataDir: string;
  importDir?: string;
  /** The node's memory (the plan's), split between heap and page cache. */
  memoryMb?: number;
  /** host:port clients are told to use (ROUTE answers): the graph-server's own Bolt address. */
  advertisedAddress: string;
  /** Extra neo4j.conf lines (database settings mapped to Neo4j's names). */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

/** Where Neo4j keeps a node's files, relative to the graph-server's data dir (backups copy this subtree). */
export const NEO4J_HOME = 'neo4j';
const PASSWORD_FILE = 'internal-password';

/** Heap and page cache from the plan's memory: half and a quarter, with floors that start on a small plan. */
export function memoryFlags(memoryMb: number | undefined): { heapMb: number; pageCacheMb: number } {
  const total = memoryMb && memoryMb > 0 ? memoryMb : 1024;
  return { heapMb: Math.max(128, Math.floor(total / 2)), pageCacheMb: Math.max(16, Math.floor(total / 4)) };
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The internal password of Neo4j's `neo4j` user: made once per data dir, kept 0600, never shown. */
async function internalPassword(dataDir: string): Promise<string> {
  const file = join(dataDir, PASSWORD_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    // One starting with '-' never got set (see below), so it is made again.
    if (text.length >= 32 && !text.startsWith('-')) return text;
  } catch {
    // made below
  }
  // Hex, not base64url: neo4j-admin set-initial-password takes it as an argument and reads a leading '-' as an option.
  const password = randomBytes(32).toString('hex');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export class Neo4jJvm {
  private readonly pending: { resolve(line: string): void; reject(err: Error): void }[] = [];
  private exitInfo: string | null = null;
  readonly exited: Promise<string>;

  private constructor(
    private readonly child: ChildProcess,
    readonly boltPort: number,
    readonly password: string,
    readonly version: string,
    lines: AsyncIterable<string>,
    private readonly log: (line: string) => void,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `status ${code}`;
        for (const p of this.pending.splice(0)) p.reject(new Error(`the Neo4j engine exited (${this.exitInfo})`));
        resolve(this.exitInfo);
      });
    });
    void (async () => {
      for await (const line of lines) {
        if (line.startsWith('OK ') || line.startsWith('ERROR ')) {
          const p = this.pending.shift();
          if (!p) continue;
          if (line.startsWith('OK ')) p.resolve(line);
          else p.reject(new Error(line.replace(/^ERROR \S+: /, '')));
        } else if (line) this.log(line);
      }
    })();
  }

  /** Starts the JVM and resolves once Neo4j accepts Bolt; rejects with the reason (and the JVM's last words) otherwise. */
  static async start(options: Neo4jJvmOptions, readyTimeoutMs = 120_000): Promise<Neo4jJvm> {
    const log = options.log ?? ((line: string) => process.stderr.write(`neo4j: ${line}\n`));
    const home = join(options.dataDir, NEO4J_HOME);
    await mkdir(home, { recursive: true, mode: 0o700 });
    const password = await internalPassword(options.dataDir);
    const passwordFile = join(options.dataDir, PASSWORD_FILE);
    const conf = join(options.dataDir, 'neo4j.conf');
    const settings = { 'server.bolt.advertised_address': options.advertisedAddress, ...options.settings };
    await writeFile(conf, Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    const boltPort = await freePort('127.0.0.1');
    const { heapMb, pageCacheMb } = memoryFlags(options.memoryMb);
    const args = [
      `-Xmx${heapMb}m`,
      '-Xms64m',
      // The install's own flags (serial collector and C1 only: an idle JVM of 287 MiB instead of 450, started
      // in 40% of the CPU time; plus the --add-opens Neo4j needs), and its class-data archive when there is one.
      ...(options.jvmFlags ?? ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
      ...(options.cdsArchive ? [`-XX:SharedArchiveFile=${options.cdsArchive}`] : []),
      '-XX:-UsePerfData',
      '-XX:+ExitOnOutOfMemoryError',
      `-Djava.io.tmpdir=${home}`,
      '-cp',
      join(options.installDir, 'lib', '*'),
      options.mainClass,
      '--home', home,
      '--bolt-address', '127.0.0.1',
      '--bolt-port', String(boltPort),
      '--pagecache', `${pageCacheMb}m`,
      '--password-file', passwordFile,
      '--conf', conf,
      ...(options.importDir ? ['--import-dir', options.importDir] : []),
    ];
    const child = spawn(options.java, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: home });
    const tail: string[] = [];
    const remember = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    createInterface({ input: child.stderr! }).on('line', (line) => {
      remember(line);
      log(line);
    });
    const lines = createInterface({ input: child.stdout! });
    const iterator = lines[Symbol.asyncIterator]();
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the Neo4j engine did not start within ${readyTimeoutMs / 1000} s: ${tail.slice(-3).join(' | ')}`));
      }, readyTimeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start '${options.java}': ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the Neo4j engine exited (${signal ? `signal ${signal}` : `status ${code}`}) before it was ready: ${tail.slice(-5).join(' | ')}`));
      });
      void (async () => {
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          remember(next.value);
          if (next.value.startsWith('READY ')) {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            return resolve(next.value);
          }
          log(next.value);
        }
      })();
    });
    const version = /version=(\S+)/.exec(ready)?.[1] ?? 'unknown';
    return new Neo4jJvm(child, boltPort, password, version, { [Symbol.asyncIterator]: () => iterator }, log);
  }

  private command(line: string, timeoutMs: number): Promise<string> {
    if (this.exitInfo) return Promise.reject(new Error(`the Neo4j engine exited (${this.exitInfo})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Neo4j engine did not answer '${line.split(' ')[0]}' in ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.push({
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${line}\n`);
    });
  }

  /** Forces a checkpoint: every committed transaction is in the store files. */
  checkpoint(): Promise<string> {
    return this.command('checkpoint', 5 * 60_000);
  }

  /** Copies the database (store and transaction logs, after a checkpoint) into `dir`; writes must be held back meanwhile. */
  snapshot(dir: string): Promise<string> {
    if (/[\r\n]/.test(dir)) return Promise.reject(new Error('bad snapshot directory'));
    return this.command(`snapshot ${dir}`, 30 * 60_000);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops Neo4j cleanly (it checkpoints); SIGKILL after `graceMs`. */
  async stop(graceMs = 60_000): Promise<void> {
    if (this.exitInfo) return;
    this.child.stdin!.end('stop\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
