// `allotrope admin …`: organization administration straight against the store, for bootstrap and recovery
// (no running server or token needed).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Role } from '../auth/caller.js';
import { rotateSigningKey, rotateStoreSigningKey, signingKeysPath } from '../auth/signing-keys.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { ROLES, insertApiClient } from '../domain/api-clients.js';
import { insertEnvironment } from '../domain/environments.js';
import { DomainError, invalid } from '../errors.js';
import { createOrganization, findOrganization } from '../domain/organizations.js';
import { normalizeId } from '../ids.js';
import { connectStore, openStore, redactStoreUrl, sqliteFileOf, storeDialectOf } from '../store/db.js';
import { CliError } from './errors.js';

interface CreateClientOptions {
  name: string;
  role: string;
  environment: string[];
  organization: string;
  config?: string;
  json?: boolean;
  init?: boolean;
}

/**
 * Refuses to make a brand-new store unless asked: a command run from another directory, or without the
 * server's ALLOTROPE_DATA_DIR or ALLOTROPE_STORE_URL, would otherwise make one whose credentials no server accepts.
 */
async function assertStoreExists(storeUrl: string, dataDir: string, init: boolean | undefined): Promise<void> {
  if (init) return;
  const file = sqliteFileOf(storeUrl);
  if (file !== null) {
    if (existsSync(file)) return;
    throw new CliError(
      `no Allotrope store at ${file} (data dir ${dataDir}); run this where \`allotrope serve\` runs, with the same ALLOTROPE_DATA_DIR or --config, or pass --init to start a new installation there`,
    );
  }
  const store = await connectStore(storeUrl, { poolSize: 1 });
  try {
    const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
    if (tables.some((t) => t.name === 'kysely_migration')) return;
  } finally {
    await store.close();
  }
  throw new CliError(`no Allotrope store in ${redactStoreUrl(storeUrl)} (its database holds no Allotrope tables); check ALLOTROPE_STORE_URL, or pass --init to start a new installation there`);
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('administer the installation directly through its store');
  admin
    .command('create-client')
    .description('create an API client and print its id and secret (shown once)')
    .requiredOption('--name <name>', 'name of the client')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'admin')
    .option('--environment <idOrLabel...>', 'environment(s) an operator or read-operator may use (id or label)', [])
    .option('--organization <name>', 'organization name or id', 'default')
    .option('--config <file>', 'JSON configuration file')
    .option('--json', 'print the result as JSON')
    .option('--init', 'create a new store (and the default organization) if there is none yet')
    .action(async (opts: CreateClientOptions) => {
      const config = loadConfig({ configFile: opts.config });
      await assertStoreExists(config.storeUrl, config.dataDir, opts.init);
      const clock = systemClock;
      const store = await openStore(config.storeUrl);
      try {
        if (!(ROLES as readonly string[]).includes(opts.role)) throw new CliError(`--role: '${opts.role}' is not one of ${ROLES.join(', ')}`);
        const organization = await findOrCreateOrganization(store.db, opts.organization, config.regions, clock);
        const environmentIds: string[] = [];
        for (const ref of opts.environment) {
          const id = normalizeId(ref);
          const env = await store.db
            .selectFrom('environments')
            .select('id')
            .where('organization_id', '=', organization.id)
            .where((eb) => (id ? eb.or([eb('id', '=', id), eb('label', '=', ref)]) : eb('label', '=', ref)))
            .executeTakeFirst();
          if (!env) throw new CliError(`--environment: environment '${ref}' does not exist in organization '${organization.name}'`);
          environmentIds.push(env.id);
        }
        const { client, clientSecret } = await insertApiClient(store.db, organization.id, { name: opts.name, role: opts.role as Role, environmentIds }, clock);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ id: client.id, clientId: client.clientId, clientSecret, role: client.role, organizationId: organization.id, environmentIds })}\n`);
        } else {
          process.stdout.write(
            [
              `Created API client '${client.name}' (role ${client.role}) in organization '${organization.name}'.`,
              `  id:            ${client.id}   (for /organizations/api-clients/{id})`,
              `  client_id:     ${client.clientId}`,
              `  client_secret: ${clientSecret}`,
              'The secret is shown only this once.',
              '',
            ].join('\n'),
          );
        }
      } catch (err) {
        if (err instanceof DomainError) throw new CliError(err.message);
        throw err;
      } finally {
        await store.close();
      }
    });

  admin
    .command('rotate-signing-key')
    .description('add a new token signing key; a running server signs with it within seconds (older tokens stay valid until they expire)')
    .option('--config <file>', 'JSON configuration file')
    .action(async (opts: { config?: string }) => {
      const config = loadConfig({ configFile: opts.config });
      if (storeDialectOf(config.storeUrl) === 'postgres') {
        const store = await openStore(config.storeUrl);
        try {
          const kid = await rotateStoreSigningKey(store.db, systemClock.now(), config.tokenTtlSeconds);
          process.stdout.write(`New signing key ${kid} written to the store; every server sharing it signs with it from now on.\n`);
        } finally {
          await store.close();
        }
        return;
      }
      const kid = await rotateSigningKey(config.dataDir, systemClock.now(), config.tokenTtlSeconds);
      process.stdout.write(`New signing key ${kid} written to ${signingKeysPath(config.dataDir)}; running servers on this data directory sign with it from now on.\n`);
    });
}

/** The named organization; on an empty store `default` is created with its `development` environment. */
async function findOrCreateOrganization(db: Parameters<typeof findOrganization>[0], name: string, regions: Parameters<typeof insertEnvironment>[3]['regions'], clock: typeof systemClock) {
  try {
    return await findOrganization(db, name);
  } catch (err) {
    const empty = !(await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst());
    if (!(err instanceof DomainError) || name !== 'default' || !empty) {
      throw err instanceof DomainError ? invalid('organization', `--organization: ${err.message}`) : err;
    }
    const org = await createOrganization(db, 'default', clock);
    await insertEnvironment(db, org.id, { label: 'development', type: 'development' }, { regions, clock });
    return org;
  }
}
