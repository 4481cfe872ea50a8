/**
 * What Airbyte's connector tooling reads: metadata.yaml (ConnectorMetadataDefinitionV0), the
 * acceptance-test config and its integration_tests/ files. They must agree with the package, the
 * spec and the source's real behaviour: the shipped spec is what `spec` prints, the catalog is
 * one `read` accepts, and the future state reads nothing from a simulator with data.
 */
import fs from 'node:fs';
import path from 'node:path';

import yaml from 'js-yaml';

import pkg from '../../package.json';
import { SOURCE_STREAM_NAMES } from '../../src/records';
import spec from '../../resources/spec.json';
import {
  configFor,
  expectCleanRun,
  expectValid,
  protocolValidator,
  recordsOf,
  ROOT,
  runMain,
  simulator,
} from './harness';

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const metadata = yaml.load(read('metadata.yaml')) as { metadataSpecVersion: string; data: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const acceptance = yaml.load(read('acceptance-test-config.yml')) as any;

/** ConnectorMetadataDefinitionV0's required data fields. */
const REQUIRED = [
  'name',
  'definitionId',
  'connectorType',
  'dockerRepository',
  'dockerImageTag',
  'license',
  'documentationUrl',
  'githubIssueLabel',
  'connectorSubtype',
  'releaseStage',
];

describe('metadata.yaml', () => {
  test('has every field Airbyte requires, matching the package and the spec', () => {
    expect(metadata.metadataSpecVersion).toBe('1.0');
    for (const field of REQUIRED)
      expect([field, metadata.data[field]]).not.toEqual([field, undefined]);
    expect(metadata.data).toMatchObject({
      connectorType: 'source',
      dockerImageTag: pkg.version,
      license: pkg.license,
      documentationUrl: spec.documentationUrl,
    });
    expect(metadata.data.definitionId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  test('names an image in our namespace, the one the Dockerfile labels and the README builds', () => {
    const repository = metadata.data.dockerRepository as string;
    expect(repository).not.toMatch(/^airbyte\//);
    expect(read('Dockerfile')).toMatch(new RegExp(`io\\.airbyte\\.name="?${repository}"?\\n`));
    expect(read('README.md')).toContain(`${repository}:${pkg.version}`);
  });
});

describe('acceptance-test-config.yml', () => {
  const tests = acceptance.acceptance_tests;
  const paths = JSON.stringify(tests).match(/"[a-z_]+_path":"[^"]+"/g) ?? [];

  test('tests the image metadata.yaml names; every file it names ships (but secrets)', () => {
    expect(acceptance.connector_image).toBe(`${metadata.data.dockerRepository}:dev`);
    expect(Object.keys(tests).sort()).toEqual(
      ['basic_read', 'connection', 'discovery', 'full_refresh', 'incremental', 'spec'].sort(),
    );
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) {
      const file = p.split('":"')[1].slice(0, -1);
      if (!file.startsWith('secrets/'))
        expect([file, fs.existsSync(path.join(ROOT, file))]).toEqual([file, true]);
    }
  });

  test('the shipped spec is exactly what `spec` prints', async () => {
    const run = await runMain('spec');
    expect(run.code).toBe(0);
    expect(run.messages.find((m) => m.type === 'SPEC')?.spec).toEqual(
      json('integration_tests/spec.json'),
    );
  });

  test('the configured catalog is a valid one with every stream', () => {
    const catalog = json('integration_tests/configured_catalog.json');
    expectValid(protocolValidator('ConfiguredAirbyteCatalog'), catalog, 'configured_catalog.json');
    expect(catalog.streams.map((s: { stream: { name: string } }) => s.stream.name)).toEqual([
      ...SOURCE_STREAM_NAMES,
    ]);
  });

  test('the invalid config fails check with a message naming base_url', async () => {
    const run = await runMain('check', { config: json('integration_tests/invalid_config.json') });
    const status = run.messages.find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(/base_url/);
  });

  test('the catalog reads every stream; the future state reads nothing', async () => {
    const sim = await simulator({ hosts: 20, detectionsPerHost: 3, qids: 40, seed: 5 });
    try {
      const catalog = json('integration_tests/configured_catalog.json');
      const first = await runMain('read', { config: configFor(sim), catalog });
      expectCleanRun(first);
      for (const stream of SOURCE_STREAM_NAMES)
        expect([stream, recordsOf(first, stream).length > 0]).toEqual([stream, true]);
      const future = await runMain('read', {
        config: configFor(sim),
        catalog,
        state: json('integration_tests/abnormal_state.json'),
      });
      expectCleanRun(future);
      expect(future.messages.filter((m) => m.type === 'RECORD')).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});
