// Starting a worker thread whose code is a module next to the caller. Compiled, that is `<name>.js`.
// Under tsx the caller is a .ts file, and Node 20 workers ignore `--import tsx` in execArgv, so a
// one-line bootstrap registers tsx inside the worker before importing the TypeScript module.
import { Worker } from 'node:worker_threads';

/** A worker running module `<name>.js` (or `<name>.ts` under tsx) in the directory of `callerUrl`. */
export function siblingWorker(callerUrl: string, name: string): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl));
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(bootstrap, { eval: true });
}
