/**
 * Reads a Qualys list response as it streams in: RESPONSE/DATETIME, the list items one at a time
 * (HOST, VULN, or ID/ID_RANGE of an ID_SET), and the pagination WARNING. A SIMPLE_RETURN or
 * GENERIC_RETURN document, whatever the HTTP status, is collected and reported as an error
 * document. Only the item being built is in memory, never the page. An HTML page (a proxy's
 * login page served as text/xml) is recognised at its root element.
 */
import { RecordBuilder, InvalidValueHandler, TextCaps } from './record-builder';
import { ObjectShape } from './shape';
import { XmlHandler, XmlSyntaxError, XmlTokenizer } from './tokenizer';

export type ResponseEvent =
  | { kind: 'datetime'; value: string }
  | { kind: 'record'; record: Record<string, unknown> }
  | { kind: 'id'; from: number; to: number }
  | { kind: 'warning'; code?: number; text?: string; url?: string };

/** A document whose root is not a list output: SIMPLE_RETURN, GENERIC_RETURN, about.php… */
export interface OtherDocument {
  root: string;
  /** The root's content as generic objects (RESPONSE, CODE, TEXT…). */
  content: Record<string, unknown>;
}

const GENERIC: ObjectShape = { kind: 'object', fields: new Map() };
/** DATETIME, ID and ID_RANGE are short: more text than this is garbage, and is not kept. */
const MAX_LEAF_CHARS = 256;
/** Root elements of an HTML page (a proxy or SSO login page), whatever their case. */
const HTML_ROOT = /^(html|head|body)$/i;

/** The body is an HTML page, not a Qualys XML document. */
export class HtmlDocumentError extends XmlSyntaxError {
  constructor() {
    super('the server answered HTML, not Qualys XML');
    this.name = 'HtmlDocumentError';
  }
}
const LIST_CONTAINERS = new Set(['HOST_LIST', 'VULN_LIST', 'ID_SET']);
const LIST_ROOTS = new Set([
  'HOST_LIST_OUTPUT',
  'HOST_LIST_VM_DETECTION_OUTPUT',
  'KNOWLEDGE_BASE_VULN_LIST_OUTPUT',
]);

/** Reads a list response as it arrives (ResponseReader, or DetectionReader for detections). */
export interface ListReader {
  /** Feeds bytes; returns the events completed by them (the array is the reader's, use at once). */
  write(chunk: Buffer): ResponseEvent[];
  /** Ends the input; throws XmlSyntaxError when the document was cut short. */
  end(): void;
  /** Set once a non-list document (e.g. SIMPLE_RETURN) has been read completely. */
  readonly otherDocument: OtherDocument | undefined;
}

/** What a call's body is read with: item element → shape, or a reader of its own. */
export type ItemsOrReader =
  Record<string, ObjectShape> | ((onInvalidValue: InvalidValueHandler) => ListReader);

export class ResponseReader implements XmlHandler, ListReader {
  private readonly tokenizer = new XmlTokenizer(this);
  private readonly builder: RecordBuilder;
  private readonly path: string[] = [];
  private events: ResponseEvent[] = [];
  private capture: 'record' | 'warning' | 'document' | 'datetime' | 'id' | undefined;
  private leafText = '';
  private rootName: string | undefined;
  private document: Record<string, unknown> | undefined;

  /** @param items list item element name → its record shape, e.g. {HOST: hostShape} */
  /** @param textCaps element → longest text kept, for elements with a cap of their own */
  constructor(
    private readonly items: Record<string, ObjectShape>,
    onInvalidValue?: InvalidValueHandler,
    textCaps?: TextCaps,
  ) {
    this.builder = new RecordBuilder(onInvalidValue, textCaps);
  }

  /** Feeds bytes; returns the events completed by them (the array is the reader's, use at once). */
  write(chunk: Buffer): ResponseEvent[] {
    this.events = [];
    this.tokenizer.write(chunk);
    return this.events;
  }

  /** Ends the input; throws XmlSyntaxError when the document was cut short. */
  end(): void {
    this.tokenizer.end();
  }

  get root(): string | undefined {
    return this.rootName;
  }

  /** Inside HOST_LIST, between its items. */
  get betweenHosts(): boolean {
    return this.capture === undefined && this.path.length === 3 && this.path[2] === 'HOST_LIST';
  }

  /** Set once a non-list document (e.g. SIMPLE_RETURN) has been read completely. */
  get otherDocument(): OtherDocument | undefined {
    return this.document && this.rootName
      ? { root: this.rootName, content: this.document }
      : undefined;
  }

  open(name: string, attributes: string | undefined): void {
    if (this.capture !== undefined) {
      if (this.capture === 'record' || this.capture === 'warning' || this.capture === 'document') {
        this.builder.open(name, attributes);
      }
      return;
    }
    const depth = this.path.length;
    this.path.push(name);
    if (depth === 0) {
      if (HTML_ROOT.test(name)) throw new HtmlDocumentError();
      this.rootName = name;
      if (!LIST_ROOTS.has(name)) this.startCapture('document', GENERIC, name, attributes);
      return;
    }
    const parent = this.path[depth - 1];
    if (depth === 2 && parent === 'RESPONSE') {
      if (name === 'DATETIME') this.startCapture('datetime');
      else if (name === 'WARNING') this.startCapture('warning', GENERIC, name, attributes);
    } else if (depth === 3 && LIST_CONTAINERS.has(parent)) {
      if (parent === 'ID_SET') this.startCapture('id');
      else if (this.items[name]) this.startCapture('record', this.items[name], name, attributes);
    }
  }

  wantsText(): boolean {
    const capture = this.capture;
    if (capture === 'record' || capture === 'warning' || capture === 'document') {
      return this.builder.wantsText();
    }
    return capture !== undefined;
  }

  text(text: string): void {
    const capture = this.capture;
    if (capture === 'record' || capture === 'warning' || capture === 'document') {
      this.builder.text(text);
    } else if (capture !== undefined && this.leafText.length < MAX_LEAF_CHARS) {
      this.leafText += text.slice(0, MAX_LEAF_CHARS);
    }
  }

  close(name: string): void {
    const capture = this.capture;
    if (capture === 'record' || capture === 'warning' || capture === 'document') {
      const value = this.builder.close(name);
      if (value === undefined) return;
      this.capture = undefined;
      if (capture === 'record') this.events.push({ kind: 'record', record: value });
      else if (capture === 'warning') this.events.push(warningOf(value));
      else this.document = value;
      this.path.pop();
      return;
    }
    if (capture === 'datetime') {
      this.events.push({ kind: 'datetime', value: this.leafText.trim() });
    } else if (capture === 'id') {
      this.events.push(idEvent(name, this.leafText.trim()));
    }
    this.capture = undefined;
    this.path.pop();
  }

  private startCapture(
    capture: NonNullable<ResponseReader['capture']>,
    shape?: ObjectShape,
    name?: string,
    attributes?: string,
  ): void {
    this.capture = capture;
    this.leafText = '';
    if (shape && name) this.builder.begin(shape, name, attributes);
  }
}

function warningOf(value: Record<string, unknown>): ResponseEvent {
  const code = value.CODE !== undefined ? Number(value.CODE) : undefined;
  return {
    kind: 'warning',
    code: Number.isFinite(code) ? code : undefined,
    text: value.TEXT as string | undefined,
    url: typeof value.URL === 'string' ? value.URL.trim() : undefined,
  };
}

/** An ID or ID_RANGE; anything but decimal digits gives NaN, which the listing rejects. */
function idEvent(element: string, text: string): ResponseEvent {
  const parts = element === 'ID_RANGE' ? text.split('-') : [text];
  const [from, to = from] = parts.map(idOf);
  return { kind: 'id', from, to: parts.length > 2 ? NaN : to };
}

function idOf(text: string): number {
  const trimmed = text.trim();
  return /^[0-9]{1,16}$/.test(trimmed) ? Number(trimmed) : NaN;
}
