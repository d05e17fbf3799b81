// How tests start the `allotrope` command as a real child process. Compiled tests (npm test) run
// dist/src/cli/main.js; a test run straight from TypeScript (`node --import tsx --test test/x.test.ts`)
// runs src/cli/main.ts through tsx, so one test file can be tried without building the project.
import { fileURLToPath } from 'node:url';

const fromTypeScript = import.meta.url.endsWith('.ts');

/** `[executable, ...args]` that runs `allotrope <args>`. */
export function allotropeCommand(args: string[]): [string, string[]] {
  if (fromTypeScript) {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    return [process.execPath, ['--import', 'tsx', main, ...args]];
  }
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  return [process.execPath, [main, ...args]];
}

/** The repository's root directory, whether the test runs from TypeScript or from dist/. */
export const repoRoot = fileURLToPath(new URL(fromTypeScript ? '../../' : '../../../', import.meta.url));
