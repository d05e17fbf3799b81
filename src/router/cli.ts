// `allotrope router`: normally started by `serve` (see docs/router.md); runnable by hand or by a service manager.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '../config.js';
import { runRouterProcess } from './process.js';

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description("run the router owning every database's public ports for the data dir (serve starts one when none runs)")
    .option('--config <file>', 'JSON configuration file (environment variables override it)')
    .option('--resolved-config <file>', "serve's resolved configuration (how serve starts it)")
    .action(async (opts: { config?: string; resolvedConfig?: string }) => {
      const config = opts.resolvedConfig ? (JSON.parse(readFileSync(opts.resolvedConfig, 'utf8')) as Config) : loadConfig({ configFile: opts.config });
      await runRouterProcess(config);
    });
}
