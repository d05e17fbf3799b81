// `allotrope engines`: install the Neo4j engine (resolved with Maven from Maven Central into the engines
// directory `serve` looks in) and show what is installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { defaultEnginesDir, findNeo4j } from '../engines/neo4j-install.js';
import { CliError } from './errors.js';

// dist/src/cli/engines.js when built, src/cli/engines.ts under tsx.
const INSTALL_SCRIPT = [new URL('../../../scripts/install-neo4j.mjs', import.meta.url), new URL('../../scripts/install-neo4j.mjs', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) ?? 'scripts/install-neo4j.mjs';

export function registerEnginesCommands(program: Command): void {
  const engines = program.command('engines').description('database engines installed on this machine (Grafeo is built in; Neo4j is installed with Maven)');
  engines
    .command('install')
    .description('install an engine: neo4j [version] (default: the pinned 5.26 LTS); needs Java 17+ and Maven; Neo4j Community is GPLv3')
    .argument('<engine>', 'neo4j')
    .argument('[version]', 'a Neo4j 5.26.x version')
    .option('--no-cds', 'skip the class-data sharing archive (it makes every database start use about a third less CPU)')
    .action((engine: string, version: string | undefined, opts: { cds: boolean }) => {
      if (engine !== 'neo4j') throw new CliError(`unknown engine '${engine}': only neo4j is installed this way (grafeo is built in)`);
      if (version !== undefined && !/^5\.26\.\d+$/.test(version)) throw new CliError(`version '${version}' is not a Neo4j 5.26.x version`);
      if (!existsSync(INSTALL_SCRIPT)) throw new CliError(`the installer ${INSTALL_SCRIPT} is missing from this installation`);
      const args = [INSTALL_SCRIPT, ...(version ? [version] : []), ...(opts.cds ? [] : ['--no-cds'])];
      const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ALLOTROPE_ENGINES_DIR: defaultEnginesDir() } });
      if (result.status !== 0) throw new CliError('the Neo4j engine was not installed (see above)', result.status ?? 1);
      process.stdout.write('Restart `allotrope serve`: it offers Neo4j versions (the default for new databases) once it finds the engine.\n');
    });
  engines
    .command('list')
    .description('what serve would find: the Neo4j install and Java, or why not')
    .action(() => {
      const dir = defaultEnginesDir();
      const found = findNeo4j(dir);
      process.stdout.write('grafeo 0.6.0  built in (version 5.26-grafeo)\n');
      process.stdout.write(found.install ? `neo4j ${found.install.version}  ${found.install.dir} (version 5.26, the default)\n` : `neo4j  not available: ${found.reason}\n`);
      if (found.install) {
        process.stdout.write(
          found.install.browserDir
            ? `neo4j browser  ${found.install.browserDir} (served by every database at /browser/)\n`
            : 'neo4j browser  not installed: run `allotrope engines install neo4j` again to add it\n',
        );
      }
    });
}
