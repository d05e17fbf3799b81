// Starting a child Node process whose main module sits next to the caller. Compiled, that is `<name>.js`;
// under tsx the caller is a .ts file and the child loads `<name>.ts` through tsx (a new process honours
// `--import`, unlike a Node 20 worker thread).
import { fileURLToPath } from 'node:url';

/** The module path and the node options to `fork()` module `<name>` in the directory of `callerUrl`. */
export function siblingProcess(callerUrl: string, name: string): { modulePath: string; execArgv: string[] } {
  const fromTypeScript = callerUrl.endsWith('.ts');
  return {
    modulePath: fileURLToPath(new URL(`./${name}.${fromTypeScript ? 'ts' : 'js'}`, callerUrl)),
    execArgv: fromTypeScript ? ['--import', import.meta.resolve('tsx')] : [],
  };
}
