// docs/cli.md, generated from the command tree (scripts/cli-docs.mjs writes it; a test checks it is current).
import type { Argument, Command, Option } from 'commander';

function usageLine(path: string[], cmd: Command): string {
  const args = (cmd.registeredArguments as readonly Argument[]).map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
  return `allotrope ${[...path, args].filter(Boolean).join(' ')}${(cmd.options as Option[]).length ? ' [options]' : ''}`;
}

function section(path: string[], cmd: Command, depth: number, out: string[]): void {
  const subs = (cmd.commands as Command[]).filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  if (path.length > 0) {
    out.push(`${'#'.repeat(Math.min(depth + 1, 4))} \`allotrope ${path.join(' ')}\``, '');
    out.push(cmd.description(), '');
    const aliases = cmd.aliases();
    if (aliases.length) out.push(`Alias: ${aliases.map((a) => `\`${a}\``).join(', ')}.`, '');
    if (subs.length === 0 || (cmd.registeredArguments as readonly Argument[]).length > 0) out.push('```', usageLine(path, cmd), '```', '');
    const options = cmd.options as Option[];
    if (options.length) {
      out.push('| option | description |', '| --- | --- |');
      for (const o of options) {
        const extra = [o.argChoices ? `one of ${o.argChoices.join(', ')}` : '', o.defaultValue !== undefined && !(Array.isArray(o.defaultValue) && o.defaultValue.length === 0) ? `default \`${String(o.defaultValue)}\`` : '', o.mandatory ? 'required' : '']
          .filter(Boolean)
          .join('; ');
        out.push(`| \`${o.flags.replaceAll('|', '\\|')}\` | ${o.description.replaceAll('|', '\\|')}${extra ? ` (${extra})` : ''} |`);
      }
      out.push('');
    }
  }
  for (const c of subs) section([...path, c.name()], c, depth + 1, out);
}

export function renderCliReference(program: Command): string {
  const out = [
    '# `allotrope` command reference',
    '',
    '<!-- Generated from the command tree by `node scripts/cli-docs.mjs` (after `npm run build`); do not edit by hand. -->',
    '',
    'The API commands (everything but `serve`, `admin`, `graph-server` and `engines`) talk to a running server with',
    'the credentials saved by `allotrope login` or given as `ALLOTROPE_URL`, `ALLOTROPE_CLIENT_ID` and',
    '`ALLOTROPE_CLIENT_SECRET`. They print tables, or the API\'s JSON/YAML with `-o json` / `-o yaml`. A database',
    'is given by id or by its name when that is unique. Commands that start an operation return at once with its',
    'id, or with `--wait` follow it to the end (exit code 1 and the server\'s message if it fails). See',
    'the recipes in [docs/recipes/](recipes/) for whole tasks, and [docs/sdk.md](sdk.md) for the TypeScript SDK.',
    '',
  ];
  section([], program, 0, out);
  return `${out.join('\n').trimEnd()}\n`;
}
