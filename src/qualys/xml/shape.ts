/**
 * Record shapes compiled from the stream JSON schemas (resources/schemas), so the schema Airbyte
 * sees and the way XML becomes records cannot drift apart. A schema property maps to the element
 * of the same name unless annotated:
 *   "xml": {"name": "DETECTION_LIST"}   the element has another name than the field
 *   "xml": {"wrapped": "TAG"}           (arrays) the element wraps repeated <TAG> items: TAGS/TAG*
 *   (array without "wrapped")           each occurrence of the element is one item: VULN_COUNT*
 *   "xml": {"text": "value"}            (objects) attributes become fields, the text becomes `value`
 */

export type LeafType = 'string' | 'integer' | 'number' | 'boolean';

export interface LeafShape {
  kind: 'leaf';
  type: LeafType;
}

export interface ObjectShape {
  kind: 'object';
  /** Child element name → field. */
  fields: Map<string, Field>;
  /** For elements with attributes and text: the field that receives the text. */
  textField?: string;
  textType?: LeafType;
}

export type Shape = LeafShape | ObjectShape;

export interface Field {
  /** JSON property name in the record. */
  property: string;
  shape: Shape;
  /** single: one value; repeated: each occurrence appends; wrapped: children named `item` append. */
  mode: 'single' | 'repeated' | 'wrapped';
  item?: string;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  xml?: { name?: string; wrapped?: string; text?: string };
}

function primaryType(schema: JsonSchema): string {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'string'];
  return types.find((t) => t !== 'null') ?? 'string';
}

function leafType(schema: JsonSchema): LeafType {
  const type = primaryType(schema);
  if (type === 'integer' || type === 'number' || type === 'boolean') return type;
  return 'string';
}

function compileShape(schema: JsonSchema): Shape {
  if (primaryType(schema) !== 'object') return { kind: 'leaf', type: leafType(schema) };
  const shape: ObjectShape = { kind: 'object', fields: new Map() };
  for (const [property, child] of Object.entries(schema.properties ?? {})) {
    const textField = schema.xml?.text;
    if (textField === property) {
      shape.textField = property;
      shape.textType = leafType(child);
      continue;
    }
    if (textField) continue; // the other properties of a text object are attributes
    const element = child.xml?.name ?? property;
    if (primaryType(child) === 'array') {
      const itemShape = compileShape(child.items ?? {});
      const wrapped = child.xml?.wrapped;
      shape.fields.set(element, {
        property,
        shape: itemShape,
        mode: wrapped ? 'wrapped' : 'repeated',
        item: wrapped,
      });
    } else {
      shape.fields.set(element, { property, shape: compileShape(child), mode: 'single' });
    }
  }
  return shape;
}

/** Compiles a record schema (an object schema) into the shape the record builder follows. */
export function compileRecordShape(schema: object): ObjectShape {
  const shape = compileShape(schema as JsonSchema);
  if (shape.kind !== 'object') throw new Error('a record schema must describe an object');
  return shape;
}
