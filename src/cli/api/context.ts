// Where the API commands find their server and credentials: named contexts saved by `allotrope login` in
// $XDG_CONFIG_HOME/allotrope/config.json (default ~/.config; the directory 0700, the file 0600, since it
// holds client secrets), or ALLOTROPE_URL / ALLOTROPE_CLIENT_ID / ALLOTROPE_CLIENT_SECRET, which win.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Allotrope } from '../../sdk/index.js';
import { CliError } from '../errors.js';

export interface Context {
  url: string;
  clientId: string;
  clientSecret: string;
}

export interface CliConfig {
  current: string | null;
  contexts: Record<string, Context>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'allotrope');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

export function readCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = configPath(env);
  if (!existsSync(file)) return { current: null, contexts: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<CliConfig>;
    return { current: parsed.current ?? null, contexts: parsed.contexts ?? {} };
  } catch (err) {
    throw new CliError(`${file} is not valid JSON (${(err as Error).message}); fix or remove it and log in again`);
  }
}

export function writeCliConfig(config: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = configPath(env);
  const tmp = `${file}.${process.pid}.tmp`;
  // Written 0600 from the start and moved into place, so the secret is never readable by others.
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

/** The context a command uses: the environment variables, else --context, else the current one. */
export function resolveContext(name: string | undefined, env: NodeJS.ProcessEnv = process.env): Context {
  const fromEnv = { url: env.ALLOTROPE_URL || undefined, clientId: env.ALLOTROPE_CLIENT_ID || undefined, clientSecret: env.ALLOTROPE_CLIENT_SECRET || undefined };
  if (!name && fromEnv.url && fromEnv.clientId && fromEnv.clientSecret) return fromEnv as Context;
  const config = readCliConfig(env);
  const chosen = name ?? config.current;
  if (!chosen) {
    throw new CliError('not logged in: run `allotrope login --url URL --client-id ID` (or set ALLOTROPE_URL, ALLOTROPE_CLIENT_ID and ALLOTROPE_CLIENT_SECRET)', 2);
  }
  const ctx = config.contexts[chosen];
  if (!ctx) throw new CliError(`no context '${chosen}' in ${configPath(env)}; contexts: ${Object.keys(config.contexts).join(', ') || 'none'}`, 2);
  // A variable given alongside a saved context overrides that part of it.
  return { url: fromEnv.url ?? ctx.url, clientId: fromEnv.clientId ?? ctx.clientId, clientSecret: fromEnv.clientSecret ?? ctx.clientSecret };
}

export function clientFor(ctx: Context): Allotrope {
  return new Allotrope({ url: ctx.url, clientId: ctx.clientId, clientSecret: ctx.clientSecret });
}
