import fs from 'node:fs';

/** The anchors GitHub gives the headings of a Markdown file (what a `page#anchor` URL names). */
export function headingAnchors(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) =>
      line
        .replace(/^#+\s*/, '')
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    );
}
