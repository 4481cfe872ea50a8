import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import pkg from '../../package.json';
import { SOURCE_NODE_FLAGS } from '../../src/node-flags';
import { expectValid, protocolValidator, ROOT } from './harness';

const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

function entrypoint(): string[] {
  const line = runtimeStage.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  return JSON.parse((line as string).slice('ENTRYPOINT '.length));
}

describe('the container Airbyte runs', () => {
  it('declares the Airbyte entrypoint, labels and a non-root user on a Node LTS image', () => {
    expect(runtimeStage).toMatch(/^\nFROM node:20-bookworm-slim AS source\n/);
    const env = runtimeStage.match(/^ENV AIRBYTE_ENTRYPOINT="(.*)"$/m)?.[1];
    expect(env).toBe(entrypoint().join(' '));
    expect(runtimeStage).toMatch(/^LABEL io\.airbyte\.name=qualys-dataflow\/source-qualys-vmdr$/m);
    expect(runtimeStage).toMatch(
      new RegExp(`^LABEL io\\.airbyte\\.version=${pkg.version.replace(/\./g, '\\.')}$`, 'm'),
    );
    expect(runtimeStage).toMatch(/^USER node$/m);
    // The V8 flags the source is measured and run with elsewhere (etm, bench/read.js).
    expect(entrypoint()).toEqual(['node', ...SOURCE_NODE_FLAGS, '/app/bin/main']);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('copies only the built tree: no sources, tests, benchmarks or configs', () => {
    const copied = runtimeStage
      .split('\n')
      .filter((l) => l.startsWith('COPY '))
      .map((l) => l.split(/\s+/).slice(-2)[0]);
    expect(copied).toEqual([
      '/app/package.json',
      '/app/node_modules',
      '/app/lib',
      'bin',
      'resources',
    ]);
  });

  it('runs the image entrypoint command line (spec) and writes a valid SPEC message', () => {
    const [command, ...args] = entrypoint().map((part) => part.replace(/^\/app\//, `${ROOT}/`));
    expect(command).toBe('node');
    const run = spawnSync(process.execPath, [...args, 'spec'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const message = JSON.parse(run.stdout.trim());
    expectValid(protocolValidator('AirbyteMessage'), message, 'SPEC message');
    expect(message.type).toBe('SPEC');
  });
});
