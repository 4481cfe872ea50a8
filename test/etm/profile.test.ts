import fs from 'fs';
import path from 'path';

import { loadProfile } from '../../src/etm/profile/profile';
import { nextOccurrence, parseDuration, parseSchedule } from '../../src/etm/profile/schedule';
import { tempDir } from './helpers';

const at = (iso: string) => new Date(iso);

describe('schedules', () => {
  test.each([
    ['30s', 30e3],
    ['15m', 900e3],
    ['6h', 21600e3],
    ['1d', 86400e3],
    ['PT6H', 21600e3],
    ['PT1H30M', 5400e3],
    ['P1D', 86400e3],
    ['P1W', 604800e3],
  ])('every %s', (text, ms) => expect(parseDuration(text, 'every')).toBe(ms));

  test.each(['', '0s', '10', 'P', 'PT', 'soon', '500ms'])('refuses the duration %j', (text) =>
    expect(() => parseDuration(text, 'schedule.every')).toThrow(
      /schedule\.every: .* is not a duration of at least 1s/,
    ),
  );

  test('a single occurrence runs at its time, once; an overdue one runs now', () => {
    const s = parseSchedule({ at: '2025-03-20T02:00:00Z' }, 'schedule');
    expect(nextOccurrence(s, at('2025-03-19T00:00:00Z'), null)).toEqual(at('2025-03-20T02:00:00Z'));
    expect(nextOccurrence(s, at('2025-03-21T00:00:00Z'), null)).toEqual(at('2025-03-21T00:00:00Z'));
    expect(nextOccurrence(s, at('2025-03-21T00:00:00Z'), at('2025-03-20T02:00:01Z'))).toBeNull();
  });

  test('a recurring schedule runs on its grid until the end, skipping missed slots', () => {
    const s = parseSchedule(
      { start: '2025-03-20T00:00:00Z', end: '2025-03-21T00:00:00Z', every: '6h' },
      'schedule',
    );
    expect(nextOccurrence(s, at('2025-03-19T12:00:00Z'), null)).toEqual(at('2025-03-20T00:00:00Z'));
    expect(nextOccurrence(s, at('2025-03-20T07:00:00Z'), null)).toEqual(at('2025-03-20T12:00:00Z'));
    // A slot that just ran (within its own millisecond) is not run again.
    expect(nextOccurrence(s, at('2025-03-20T12:00:00Z'), at('2025-03-20T12:00:00Z'))).toEqual(
      at('2025-03-20T18:00:00Z'),
    );
    expect(nextOccurrence(s, at('2025-03-20T23:59:00Z'), null)).toEqual(at('2025-03-21T00:00:00Z'));
    expect(nextOccurrence(s, at('2025-03-21T00:00:01Z'), null)).toBeNull();
  });

  test.each([
    [{}, /expected either "at" or all of "start", "end", "every" \(got nothing\)/],
    [{ at: 'tomorrow' }, /schedule\.at: 'tomorrow' is not a date-time/],
    [{ start: '2025-03-20T00:00:00Z', every: '1h' }, /expected either "at" or all of/],
    [
      { start: '2025-03-20T00:00:00Z', end: '2025-03-19T00:00:00Z', every: '1h' },
      /end must be after start/,
    ],
    ['daily', /expected \{"at": …\} or/],
  ])('refuses the schedule %j', (raw, message) =>
    expect(() => parseSchedule(raw, 'schedule')).toThrow(message),
  );
});

describe('profiles', () => {
  function write(doc: unknown): string {
    const dir = tempDir('etm-profile-');
    fs.writeFileSync(path.join(dir, 'sub-a.json'), '{}');
    const file = path.join(dir, 'profile.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  const PROFILE = {
    name: 'Prod VMDR',
    description: 'Production subscriptions',
    status: 'Active',
    subscriptions: [
      {
        config: 'sub-a.json',
        filters: { severities: [4, 5], tag_filter: 'eval-214027-test, exec-220563' },
      },
    ],
    transformMap: 'maps/custom.json',
    identificationRules: [{ rule: 'fqdn' }, { rule: 'qualysHostId', enabled: false }, 'ipAddress'],
    schedule: { start: '2025-03-20T00:00:00Z', end: '2025-04-20T00:00:00Z', every: 'PT6H' },
  };

  test('loads, resolving paths against the profile', () => {
    const file = write(PROFILE);
    const p = loadProfile(file);
    expect(p).toMatchObject({
      name: 'Prod VMDR',
      description: 'Production subscriptions',
      status: 'Active',
      subscriptions: [
        {
          config: path.join(path.dirname(file), 'sub-a.json'),
          filters: { severities: [4, 5], tag_filter: 'eval-214027-test, exec-220563' },
        },
      ],
      transformMap: path.join(path.dirname(file), 'maps/custom.json'),
      schedule: { kind: 'recurring', everyMs: 6 * 3600e3 },
    });
    expect(p.rules?.names).toEqual(['fqdn', 'ipAddress']);
  });

  test.each([
    [{ ...PROFILE, status: 'On' }, /"status" must be "Active" or "Inactive"/],
    [{ ...PROFILE, name: '' }, /"name" is required/],
    [{ ...PROFILE, subscriptions: [] }, /"subscriptions" must list at least one/],
    [
      { ...PROFILE, subscriptions: [{ config: 'a.json', filters: { password: 'x' } }] },
      /subscriptions\[0\]: 'password' is not a source filter/,
    ],
    [
      { ...PROFILE, subscriptions: [{ config: 'a.json', filters: { severity: [5] } }] },
      /'severity' is not a source filter \(filters: .*severities/,
    ],
    [
      { ...PROFILE, identificationRules: [{ rule: 'fqdn', enabled: false }] },
      /at least one identification rule must stay on/,
    ],
    [{ ...PROFILE, schedule: undefined }, /profile profile\.json schedule: expected/],
    [{ ...PROFILE, cron: '* * * * *' }, /unknown key 'cron'/],
  ])('refuses a bad profile (%#)', (doc, message) =>
    expect(() => loadProfile(write(doc))).toThrow(message),
  );
});
