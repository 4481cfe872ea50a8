import { NORMALISERS } from '../../src/etm/normalisers';

const n = (name: string) => {
  const normaliser = NORMALISERS.get(name);
  if (!normaliser) throw new Error(`no normaliser ${name}`);
  return normaliser.apply;
};

describe('normalisers', () => {
  test.each([
    [undefined, null],
    [null, null],
    ['  Windows Server 2019  ', 'Windows Server 2019'],
    ['   ', null],
    [148312001, '148312001'],
    [true, 'true'],
    [{ a: 1 }, null],
    [['x'], null],
  ])('text %j → %j', (input, expected) => expect(n('text')(input)).toEqual(expected));

  test.each([
    ['TCP', 'tcp'],
    [' Udp ', 'udp'],
    [undefined, null],
  ])('lowercase %j → %j', (input, expected) => expect(n('lowercase')(input)).toEqual(expected));

  test.each([
    [1, 1],
    [5, 5],
    ['4', 4],
    [0, null],
    [6, null],
    [3.5, null],
    ['high', null],
    [undefined, null],
  ])('severity %j → %j (integer 1-5)', (input, expected) =>
    expect(n('severity')(input)).toEqual(expected),
  );

  test.each([
    [3, 3],
    ['5', 5],
    [0, null],
    [9, null],
  ])('criticality %j → %j', (input, expected) => expect(n('criticality')(input)).toEqual(expected));

  test.each([
    [443, 443],
    ['8443', 8443],
    [0, 0],
    [65536, null],
    [-1, null],
    ['', null],
    [undefined, null],
  ])('port %j → %j (integer or null)', (input, expected) =>
    expect(n('port')(input)).toEqual(expected),
  );

  test.each([
    [874, 874],
    ['612', 612],
    [61.2, null],
    [undefined, null],
  ])('integer %j → %j', (input, expected) => expect(n('integer')(input)).toEqual(expected));

  test.each([
    [9.3, 9.3],
    ['7.7', 7.7],
    [0, 0],
    ['', null],
    ['n/a', null],
    [Number.NaN, null],
    [undefined, null],
  ])('number %j → %j (CVSS, detectionScore)', (input, expected) =>
    expect(n('number')(input)).toEqual(expected),
  );

  test.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['1', true],
    ['0', false],
    ['true', true],
    ['FALSE', false],
    [2, null],
    ['maybe', null],
    [undefined, null],
  ])('boolean %j → %j', (input, expected) => expect(n('boolean')(input)).toEqual(expected));

  test.each([
    ['2025-03-13T22:18:40Z', '2025-03-13T22:18:40.000Z'],
    ['2025-03-13T23:18:40+01:00', '2025-03-13T22:18:40.000Z'],
    // No zone on the Qualys wire means UTC, not local time.
    ['2025-03-13T22:18:40', '2025-03-13T22:18:40.000Z'],
    ['2025-03-13', '2025-03-13T00:00:00.000Z'],
    [Date.UTC(2025, 2, 13), '2025-03-13T00:00:00.000Z'],
    ['not a date', null],
    ['', null],
    [undefined, null],
  ])('datetime %j → %j (ISO 8601 UTC)', (input, expected) =>
    expect(n('datetime')(input)).toEqual(expected),
  );

  test.each([
    // Dates Date rolls over, or refuses, read as Date reads them (not by the Qualys-form shortcut).
    ['2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
    ['2023-02-29T10:00:00Z', '2023-03-01T10:00:00.000Z'],
    ['2024-04-31T00:00:00Z', '2024-05-01T00:00:00.000Z'],
    ['2024-01-01T24:00:00Z', '2024-01-02T00:00:00.000Z'],
    ['2024-01-01T23:59:60Z', null],
    ['2024-13-01T00:00:00Z', null],
    ['2024-00-10T00:00:00Z', null],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['2024-01-28T23:59:59Z', '2024-01-28T23:59:59.000Z'],
    ['2024-01-28t23:59:59z', '2024-01-28T23:59:59.000Z'],
  ])('datetime %j → %j, as Date reads it', (input, expected) =>
    expect(n('datetime')(input)).toEqual(expected),
  );

  test('Qualys-form dates read as Date reads them, over every month, day and hour', () => {
    const pad = (x: number) => String(x).padStart(2, '0');
    const viaDate = (s: string) => {
      const d = new Date(s);
      return Number.isNaN(d.getTime()) ? null : d.toISOString();
    };
    for (const year of [1999, 2023, 2024]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60']) {
            const s = `${year}-${pad(month)}-${pad(day)}T${time}Z`;
            expect([s, n('datetime')(s)]).toEqual([s, viaDate(s)]);
          }
        }
      }
    }
  });

  test.each([
    ['New', 'NEW'],
    ['Active', 'ACTIVE'],
    ['Re-Opened', 'REOPENED'],
    ['Fixed', 'FIXED'],
    ['ACTIVE', 'ACTIVE'],
    [undefined, null],
    ['Unknown', null],
  ])('findingStatus %j → %j', (input, expected) =>
    expect(n('findingStatus')(input)).toEqual(expected),
  );

  test.each([
    ['Confirmed', 'CONFIRMED'],
    ['Potential', 'POTENTIAL'],
    ['Info', 'INFORMATION'],
    ['Information Gathered', 'INFORMATION'],
    [undefined, null],
  ])('findingSubType %j → %j', (input, expected) =>
    expect(n('findingSubType')(input)).toEqual(expected),
  );

  test.each([
    [3, 'NETWORK'],
    [2, 'ADJACENT_NETWORK'],
    [1, 'LOCAL'],
    ['3', 'NETWORK'],
    ['CVSS:2.0/AV:N/AC:M/Au:N/C:C/I:C/A:C', 'NETWORK'],
    ['AV:L/AC:L', 'LOCAL'],
    [4, null],
    [undefined, null],
  ])('accessVector %j → %j', (input, expected) =>
    expect(n('accessVector')(input)).toEqual(expected),
  );

  test.each([
    [
      ['CVE-1', ' CVE-2 ', 'CVE-1', '', null],
      ['CVE-1', 'CVE-2'],
    ],
    ['CVE-9', ['CVE-9']],
    [[], []],
    [undefined, null],
    [null, null],
  ])('uniqueStrings %j → %j', (input, expected) =>
    expect(n('uniqueStrings')(input)).toEqual(expected),
  );

  test('no normaliser ever yields the string "undefined"', () => {
    for (const normaliser of NORMALISERS.values()) {
      expect(normaliser.apply(undefined)).toBeNull();
      expect(normaliser.apply(null)).toBeNull();
    }
  });
});
