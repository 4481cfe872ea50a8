import { RawJson, JsonSink } from '../../src/shared-json';
import { DescribedStream, project, selectedFields } from '../../src/streams/selected-fields';

const stream: DescribedStream = {
  getJsonSchema: () => ({ properties: { subscription: {}, ID: {}, DNS: {}, OS: {}, CURSOR: {} } }),
  primaryKey: [['subscription'], ['ID']],
  cursorField: ['CURSOR'],
  keptFields: ['DNS'],
};

const sorted = (fields: ReadonlySet<string> | undefined) => fields && [...fields].sort();

describe('selectedFields (Airbyte column selection)', () => {
  it('selects nothing when the configured schema has every property, or none', () => {
    expect(selectedFields(stream, stream.getJsonSchema())).toBeUndefined();
    expect(selectedFields(stream, {})).toBeUndefined();
    expect(selectedFields(stream, undefined)).toBeUndefined();
    // More than the stream has (an older schema's extra column) is not a selection either.
    expect(
      selectedFields(stream, { properties: { ...stream.getJsonSchema().properties!, X: {} } }),
    ).toBeUndefined();
  });

  it("keeps the configured properties, the key, the cursor, deletions and the stream's own", () => {
    expect(sorted(selectedFields(stream, { properties: { OS: {} } }))).toEqual([
      'CURSOR',
      'DNS',
      'ID',
      'OS',
      '_ab_cdc_deleted_at',
      'subscription',
    ]);
  });

  it('a key or cursor given as one string counts too', () => {
    const plain = { ...stream, primaryKey: 'ID', cursorField: 'CURSOR', keptFields: undefined };
    expect(sorted(selectedFields(plain, { properties: { DNS: {} } }))).toEqual([
      'CURSOR',
      'DNS',
      'ID',
      '_ab_cdc_deleted_at',
    ]);
  });
});

describe('project', () => {
  it('keeps the selected top-level fields of an object, nested values whole', () => {
    const record = { ID: 1, OS: 'Linux', TAGS: [{ NAME: 'a' }], DNS: undefined };
    expect(project(record, new Set(['ID', 'TAGS']))).toEqual({ ID: 1, TAGS: [{ NAME: 'a' }] });
  });

  it('leaves a record that is already JSON bytes as it is (its encoder selected its fields)', () => {
    const raw = new (class extends RawJson {
      writeJson(sink: JsonSink): void {
        sink.bytes(Buffer.from('{}'));
      }
    })();
    expect(project(raw, new Set(['ID']))).toBe(raw);
  });
});
