/**
 * Defers loading a dependency of a dependency until one of its exports is used. faros-airbyte-cdk
 * loads faros-js-client (a GraphQL client with its own dependencies) at start-up for one date
 * helper that this source never calls; that alone costs about 0.2 s on every spec, check,
 * discover and read (measured with `time bin/main spec`).
 */
import Module from 'node:module';

/**
 * Makes `request`, as `fromPackage` resolves it, a stand-in whose first property read loads the
 * real module. Only for modules used through their properties (`m.name`), which is how compiled
 * TypeScript uses a namespace import; call it before `fromPackage` is loaded.
 */
export function deferModule(request: string, fromPackage: string): void {
  const packageDir = require.resolve(`${fromPackage}/package.json`).replace(/package\.json$/, '');
  const filename = require.resolve(request, { paths: [packageDir] });
  if (require.cache[filename]) return;
  let real: Record<PropertyKey, unknown> | undefined;
  const load = (): Record<PropertyKey, unknown> => {
    if (real === undefined) {
      delete require.cache[filename];
      real = Module.createRequire(filename)(filename) as Record<PropertyKey, unknown>;
    }
    return real;
  };
  const standIn = new Module(filename);
  standIn.filename = filename;
  standIn.loaded = true;
  standIn.exports = new Proxy(
    {},
    {
      get: (_target, key) => load()[key],
      has: (_target, key) => key in load(),
    },
  );
  require.cache[filename] = standIn;
}
