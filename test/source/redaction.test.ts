import { Writable } from 'node:stream';

import { MASK, Redactor, redactOutput } from '../../src/redaction';

function redactor(...secrets: unknown[]): Redactor {
  const r = new Redactor();
  for (const secret of secrets) r.add(secret);
  return r;
}

describe('Redactor', () => {
  it('masks a secret in text, longest first', () => {
    const r = redactor('pa55word', 'pa55word-and-more');
    expect(r.redactText('a pa55word-and-more b pa55word')).toBe(`a ${MASK} b ${MASK}`);
  });

  it('does not search for values shorter than 4 characters', () => {
    const r = redactor('abc', '', 12);
    expect(r.empty).toBe(true);
    expect(r.redactText('abc 12')).toBe('abc 12');
  });

  it('masks a secret inside JSON lines, escaped once or twice, and keeps each line valid JSON', () => {
    const secret = 'p"a\\ss\nword';
    const r = redactor(secret);
    const log = JSON.stringify({
      log: { message: `Config: ${JSON.stringify({ password: secret })}` },
    });
    const record = JSON.stringify({ record: { data: { NOTE: `x ${secret} y`, ID: 1 } } });
    const out = r.redactLines(`${log}\n${record}\n`);
    const [first, second, end] = out.split('\n');
    expect(end).toBe('');
    expect(JSON.parse(first)).toEqual({ log: { message: `Config: {"password":"${MASK}"}` } });
    expect(JSON.parse(second)).toEqual({ record: { data: { NOTE: `x ${MASK} y`, ID: 1 } } });
    expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
  });

  it('masks keys too, keeping a "__proto__" key a key', () => {
    const r = redactor('s3cr3t-key');
    const value = JSON.parse('{"__proto__": {"s3cr3t-key": ["s3cr3t-key"]}}');
    const redacted = r.redact(value);
    expect(Object.getPrototypeOf(redacted)).toBeNull();
    expect(JSON.stringify(redacted)).toBe(`{"__proto__":{"${MASK}":["${MASK}"]}}`);
  });

  it('masks a secret with a line break in text that is not JSON', () => {
    expect(redactor('two\nlines').redactLines('a two\nlines b\n')).toBe(`a ${MASK} b\n`);
  });

  it('masks text that is not JSON as text', () => {
    expect(redactor('s3cr3t-pa55').redactLines('partial {"a":"s3cr3t-pa55')).toBe(
      `partial {"a":"${MASK}`,
    );
  });
});

describe('redactOutput', () => {
  function sink() {
    const chunks: unknown[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    return { stream, chunks };
  }

  it('masks what is written, as strings and as buffers, and leaves other chunks as they are', () => {
    const r = redactor('s3cr3t-pa55');
    const { stream, chunks } = sink();
    redactOutput(stream, r);
    const clean = Buffer.from('{"a":1}\n');
    stream.write(clean);
    stream.write(Buffer.from('{"a":"s3cr3t-pa55"}\n'));
    stream.write('{"b":"x s3cr3t-pa55"}\n');
    expect(chunks[0]).toBe(clean);
    expect(chunks.map(String)).toEqual(['{"a":1}\n', `{"a":"${MASK}"}\n`, `{"b":"x ${MASK}"}\n`]);
  });

  it('sees secrets registered after it was installed', () => {
    const r = new Redactor();
    const { stream, chunks } = sink();
    redactOutput(stream, r);
    stream.write('late-pa55\n');
    r.add('late-pa55');
    stream.write('late-pa55\n');
    expect(chunks.map(String)).toEqual(['late-pa55\n', `${MASK}\n`]);
  });
});
