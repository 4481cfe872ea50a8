/** The README stays a newcomer's page: short, and every document it points to exists. */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('the README is under 250 lines and says what ETM is in its first screen', () => {
  expect(readme.split('\n').length).toBeLessThan(250);
  expect(readme.split('\n').slice(0, 20).join('\n')).toMatch(
    /ETM \(Qualys Enterprise TruRisk Management\)/,
  );
});

test('every relative link of the README and docs/ leads to a file', () => {
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)];
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)) {
      const resolved = path.join(ROOT, path.dirname(file), target);
      expect([file, target, fs.existsSync(resolved)]).toEqual([file, target, true]);
    }
  }
});
