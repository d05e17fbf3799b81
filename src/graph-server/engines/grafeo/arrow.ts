// apache-arrow, loaded from the one pre-built file the package ships (Arrow.esnext.min.js, 180 kB) instead
// of its ESM entry (~400 modules): measured on 2 busy cores, 35 ms and ~3 MB to load instead of 0.2–0.8 s
// and ~12 MB, which was the largest part of a graph-server's start-up. Same API; types from the package.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as ArrowModule from 'apache-arrow';

const require = createRequire(import.meta.url);

export const arrow = require(join(dirname(require.resolve('apache-arrow')), 'Arrow.esnext.min.js')) as typeof ArrowModule;
