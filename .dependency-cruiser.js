/**
 * The architecture's arrows (README "Architecture"), checked by `npm run lint`:
 * streams → qualys → xml; the ETM side shares only the record types with the source; the
 * simulator speaks HTTP and imports no client code.
 */
module.exports = {
  forbidden: [
    {
      name: 'etm-not-source',
      comment:
        'src/etm runs the source as a process; it shares only src/records.ts and src/node-flags.ts ' +
        'with it (and the demo starts the simulator in-process).',
      severity: 'error',
      from: { path: '^src/etm/', pathNot: '^src/etm/demo/' },
      to: { path: '^src/', pathNot: '^src/(etm/|records\\.ts$|node-flags\\.ts$)' },
    },
    {
      name: 'etm-demo-only-simulator',
      comment: 'The demo may start the simulator; nothing in src/etm imports the source.',
      severity: 'error',
      from: { path: '^src/etm/demo/' },
      to: { path: '^src/', pathNot: '^src/(etm/|simulator/|records\\.ts$|node-flags\\.ts$)' },
    },
    {
      name: 'simulator-no-client',
      comment: 'The simulator is a Qualys server: it imports no client, stream or ETM code.',
      severity: 'error',
      from: { path: '^src/simulator/' },
      to: { path: '^src/', pathNot: '^src/(simulator/|records\\.ts$)' },
    },
    {
      name: 'qualys-not-streams',
      comment: 'src/qualys speaks Qualys; streams and the entry point use it, never the reverse.',
      severity: 'error',
      from: { path: '^src/qualys/' },
      to: { path: '^src/(streams/|etm/|simulator/|index\\.ts$|record-output\\.ts$|failures\\.ts$)' },
    },
    {
      name: 'xml-not-client',
      comment: 'Streaming XML knows bytes and schemas, not the client, lists or budget.',
      severity: 'error',
      from: { path: '^src/qualys/xml/' },
      to: { path: '^src/qualys/[^/]+$' },
    },
    {
      name: 'streams-not-etm',
      severity: 'error',
      from: { path: '^src/streams/' },
      to: { path: '^src/(etm|simulator)/' },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'Type-only imports (import type) do not load modules: they may go both ways.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
