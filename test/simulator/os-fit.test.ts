/**
 * Each host's QIDs fit its OS and its services: no Ubuntu notice on Windows, no Office update on Red
 * Hat, no MySQL finding on a host without a database port, before and after scan cycles. The share
 * is measured with os-fit.ts from the public accessors; on the simulator before this change it was
 * 58% (wrong OS family) and 78% (wrong platform) of the OS-specific findings, seed 1, defaults.
 */
import { SimClock } from '../../src/simulator';
import { Dataset } from '../../src/simulator/dataset';
import { resolveOptions } from '../../src/simulator/options';
import { runScanCycle } from '../../src/simulator/scan-cycle';
import { hostPlatform, measureOsFit, qidPlatform } from './os-fit';

function dataset(seed: number, hosts?: number): Dataset {
  const options = resolveOptions({ seed, hosts });
  return new Dataset(options, new SimClock(options.startSec));
}

describe.each([1])('seed %i, default size', (seed) => {
  const ds = dataset(seed);

  test('no OS-specific finding sits on a host of another platform', () => {
    const fit = measureOsFit(ds);
    expect(fit.osSpecific).toBeGreaterThan(5000);
    expect(fit).toEqual({ osSpecific: fit.osSpecific, wrongFamily: 0, wrongPlatform: 0 });
  });

  test('every platform that has hosts has findings of its own category', () => {
    const withHosts = new Set<string>();
    const withFindings = new Set<string>();
    const categories = new Map(ds.kbQids().map((qid) => [qid, ds.kb(qid)?.CATEGORY]));
    for (const id of ds.hostIds()) {
      const platform = hostPlatform(ds.host(id)?.OS ?? '');
      if (!platform) continue;
      withHosts.add(platform.name);
      for (const d of ds.detections(id) ?? []) {
        if (qidPlatform(categories.get(d.QID))) withFindings.add(platform.name);
      }
    }
    expect([...withHosts].sort()).toEqual(
      ['amazon', 'centos', 'cisco', 'debian', 'esxi', 'rhel', 'suse', 'ubuntu', 'windows'].sort(),
    );
    expect([...withFindings].sort()).toEqual([...withHosts].sort());
  });

  test('a port-based finding is on a port of a service the host runs', () => {
    let portBased = 0;
    for (let index = 0; index < ds.hostCount; index++) {
      const state = ds.hostState(index);
      for (const d of ds.hostDetections(state).list) {
        if (d.port === undefined) continue;
        portBased++;
        expect([state.id, d.port, state.identity.services.includes(d.port)]).toEqual([
          state.id,
          d.port,
          true,
        ]);
      }
    }
    expect(portBased).toBeGreaterThan(1000);
  });
});

test('database findings only on database hosts, SQL Server only on Windows', () => {
  const ds = dataset(1);
  const seen = new Set<string>();
  for (let index = 0; index < ds.hostCount; index++) {
    const state = ds.hostState(index);
    for (const d of ds.hostDetections(state).list) {
      const entry = ds.knowledgeBase.entries[d.qidIndex];
      if (entry.category.name !== 'Database') continue;
      const title = ds.knowledgeBase.details(d.qidIndex).title;
      expect([state.id, state.identity.role]).toEqual([state.id, 'db']);
      seen.add(`${/Microsoft SQL Server/.test(title)}:${state.identity.osFamily}`);
    }
  }
  expect([...seen].sort()).toEqual(['false:linux', 'false:windows', 'true:windows']);
});

test('detections added by scan cycles fit too', () => {
  const ds = dataset(3, 300);
  const clock = new SimClock(ds.options.startSec);
  const cycled = new Dataset(ds.options, clock);
  let added = 0;
  for (let k = 0; k < 3; k++)
    added += runScanCycle(cycled, clock, { hostFraction: 0.5 }).added.length;
  expect(added).toBeGreaterThan(150);
  const fit = measureOsFit(cycled);
  expect([fit.wrongFamily, fit.wrongPlatform]).toEqual([0, 0]);
});
