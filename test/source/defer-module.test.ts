import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { ROOT } from './harness';

/** Runs `script` in a fresh node process (jest has a module registry of its own). */
function runNode(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
}

/** A preload that prints the files loaded when the process exits. */
function loadedAtExitPreload(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'defer-')), 'loaded.js');
  fs.writeFileSync(
    file,
    "process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(require.cache))));",
  );
  return file;
}

describe('deferred start-up dependencies', () => {
  it('bin/main answers spec without loading faros-js-client', () => {
    const preload = loadedAtExitPreload();
    const run = runNode(['-r', preload, path.join(ROOT, 'bin/main'), 'spec']);
    fs.rmSync(path.dirname(preload), { recursive: true });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim()).type).toBe('SPEC');
    const loaded = JSON.parse(run.stderr) as string[];
    expect(loaded.some((file) => file.includes('/faros-airbyte-cdk/'))).toBe(true);
    // Only its stand-in (cached under the real file name), none of the modules it requires.
    expect(loaded.filter((file) => file.includes('/node_modules/faros-js-client/'))).toEqual([
      path.join(ROOT, 'node_modules/faros-js-client/lib/index.js'),
    ]);
    expect(loaded.filter((file) => file.includes('/node_modules/graphql/'))).toEqual([]);
  });

  it('loads the real module at the first use of an export', () => {
    const script = `
      require('./lib/defer-module').deferModule('faros-js-client', 'faros-airbyte-cdk');
      require('faros-airbyte-cdk');
      const cdkDir = require.resolve('faros-airbyte-cdk/package.json').replace(/package.json$/, '');
      const file = require.resolve('faros-js-client', { paths: [cdkDir] });
      const client = require(file);
      const before = Object.keys(require.cache).filter((f) => f.includes('/graphql/')).length;
      const date = client.Utils.toDate(0).toISOString();
      const after = Object.keys(require.cache).filter((f) => f.includes('/graphql/')).length;
      console.log(JSON.stringify({ before, date, after, inUtils: 'Utils' in client }));
    `;
    const run = runNode(['-e', script]);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout);
    expect(result.before).toBe(0);
    expect(result.date).toBe('1970-01-01T00:00:00.000Z');
    expect(result.after).toBeGreaterThan(0);
    expect(result.inUtils).toBe(true);
  });
});
