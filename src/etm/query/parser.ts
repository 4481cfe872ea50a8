/**
 * The ETM query language, as the product documents its tokens:
 *
 *   query     := or
 *   or        := and ("or" and)*
 *   and       := unary ("and" unary)*
 *   unary     := "not" unary | "(" or ")" | inventory | condition
 *   inventory := "inventory" ":" "(" or ")"        -- conditions on asset fields, unprefixed
 *   condition := field op value                      -- field: finding.<attr> | asset.<attr>
 *   op        := ":" | "=" | "!=" | ">=" | "<=" | ">" | "<"
 *   value     := `backquoted` | "double" | 'single' | bare (up to a space or ")")
 *
 * e.g.  inventory: (source: `VMDR`)      finding.vendorProductName: VMDR and finding.findingSeverity >= 4
 * Keywords are case-insensitive. Values are lexed only after an operator, so a bare value may
 * hold ':' (a date) or '.' (an IP address).
 */
import { VError } from 'verror';

export type Op = ':' | '=' | '!=' | '>=' | '<=' | '>' | '<';

export type QueryNode =
  | {
      kind: 'cond';
      scope: 'asset' | 'finding';
      field: string;
      op: Op;
      value: string;
      quoted: boolean;
    }
  | { kind: 'and' | 'or'; parts: QueryNode[] }
  | { kind: 'not'; part: QueryNode };

const OPS: ReadonlyArray<Op> = ['!=', '>=', '<=', ':', '=', '>', '<'];
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;

export function parseQuery(text: string): QueryNode {
  const p = new Parser(text);
  const node = p.or(null);
  p.skip();
  if (!p.done()) p.error('unexpected text');
  return node;
}

class Parser {
  private i = 0;

  constructor(private readonly text: string) {}

  done(): boolean {
    return this.i >= this.text.length;
  }

  skip(): void {
    while (!this.done() && /\s/.test(this.text[this.i])) this.i++;
  }

  error(what: string): never {
    const at = this.text.slice(this.i, this.i + 20);
    throw new VError(
      'query: %s at position %d%s',
      what,
      this.i + 1,
      at ? ` (near ${JSON.stringify(at)})` : '',
    );
  }

  /** `inside`: the scope of an enclosing inventory:(…), whose fields are unprefixed. */
  or(inside: 'asset' | null): QueryNode {
    const parts = [this.and(inside)];
    while (this.keyword('or')) parts.push(this.and(inside));
    return parts.length === 1 ? parts[0] : { kind: 'or', parts };
  }

  private and(inside: 'asset' | null): QueryNode {
    const parts = [this.unary(inside)];
    while (this.keyword('and')) parts.push(this.unary(inside));
    return parts.length === 1 ? parts[0] : { kind: 'and', parts };
  }

  private unary(inside: 'asset' | null): QueryNode {
    if (this.keyword('not')) return { kind: 'not', part: this.unary(inside) };
    this.skip();
    if (this.peek('(')) {
      this.i++;
      const node = this.or(inside);
      this.expect(')');
      return node;
    }
    const field = this.field();
    if (inside === null && field.toLowerCase() === 'inventory') {
      this.expect(':');
      this.expect('(');
      const node = this.or('asset');
      this.expect(')');
      return node;
    }
    const op = this.op();
    const { value, quoted } = this.value();
    if (inside)
      return {
        kind: 'cond',
        scope: inside,
        field: field.replace(/^asset\./i, ''),
        op,
        value,
        quoted,
      };
    const dot = field.indexOf('.');
    const scope = field.slice(0, dot).toLowerCase();
    if (dot < 0 || (scope !== 'asset' && scope !== 'finding')) {
      throw new VError(
        'query: field %j must start with finding. or asset. (or use inventory: (…))',
        field,
      );
    }
    return { kind: 'cond', scope, field: field.slice(dot + 1), op, value, quoted };
  }

  private keyword(word: string): boolean {
    this.skip();
    const m = /^[A-Za-z]+/.exec(this.text.slice(this.i));
    if (
      m &&
      m[0].toLowerCase() === word &&
      !/[.:=<>!]/.test(this.text[this.i + m[0].length] ?? '')
    ) {
      this.i += m[0].length;
      return true;
    }
    return false;
  }

  private peek(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  private expect(s: string): void {
    this.skip();
    if (!this.peek(s)) this.error(`expected ${JSON.stringify(s)}`);
    this.i += s.length;
  }

  private field(): string {
    this.skip();
    const m = FIELD.exec(this.text.slice(this.i));
    if (!m) this.error('expected a field name');
    this.i += m[0].length;
    return m[0];
  }

  private op(): Op {
    this.skip();
    const op = OPS.find((o) => this.peek(o));
    if (!op) this.error('expected an operator (: = != >= <= > <)');
    this.i += op.length;
    return op;
  }

  private value(): { value: string; quoted: boolean } {
    this.skip();
    const q = this.text[this.i];
    if (q === '`' || q === '"' || q === "'") {
      const end = this.text.indexOf(q, this.i + 1);
      if (end < 0) this.error(`unterminated ${q}-quoted value`);
      const value = this.text.slice(this.i + 1, end);
      this.i = end + 1;
      return { value, quoted: true };
    }
    const m = /^[^\s()]+/.exec(this.text.slice(this.i));
    if (!m) this.error('expected a value');
    this.i += m[0].length;
    return { value: m[0], quoted: false };
  }
}
