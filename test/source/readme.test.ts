import fs from 'node:fs';
import path from 'node:path';

import spec from '../../resources/spec.json';

interface Property {
  type: string;
  default?: unknown;
  airbyte_secret?: boolean;
  items?: { type: string; enum?: string[]; minimum?: number; maximum?: number };
}

/** The type column as the README writes it. */
function typeOf(p: Property): string {
  if (p.type !== 'array') return p.airbyte_secret ? `${p.type} (secret)` : p.type;
  const items = p.items as NonNullable<Property['items']>;
  if (items.enum) return `array of ${items.enum.join(', ')}`;
  return `array of ${items.type} ${items.minimum}–${items.maximum}`;
}

describe('README configuration reference', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Configuration reference'));
  const rows = section
    .split('\n')
    .filter((line) => /^\| `[a-z_]+` \|/.test(line))
    .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| /, '').replace(/ \|$/, '')));

  it('has one row per spec.json property, in spec order, with its type and default', () => {
    const { properties, required } = spec.connectionSpecification;
    expect(rows.map((r) => r[0])).toEqual(Object.keys(properties).map((key) => `\`${key}\``));
    for (const [key, property] of Object.entries(properties) as [string, Property][]) {
      const row = rows.find((r) => r[0] === `\`${key}\``) as string[];
      expect([key, row[1]]).toEqual([key, typeOf(property)]);
      const expectedDefault =
        property.default !== undefined
          ? `\`${JSON.stringify(property.default)}\``
          : required.includes(key)
            ? 'required'
            : '—';
      expect([key, row[2]]).toEqual([key, expectedDefault]);
    }
  });
});
