/**
 * An item's size as DynamoDB counts it against the 400 KB limit (the documented rules: attribute
 * names and string values in UTF-8 bytes, binary in bytes, a number about one byte per two
 * significant digits plus one, a set the sum of its members, 1 byte for booleans and nulls, 3 bytes
 * of overhead for a map or list). Rounded up where the documentation says "approximately".
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function attributeValueSize(v: AttributeValue): number {
  if (v.S !== undefined) return bytes(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.length;
  if (v.SS) return v.SS.reduce((t, s) => t + bytes(s), 0);
  if (v.NS) return v.NS.reduce((t, n) => t + numberSize(n), 0);
  if (v.BS) return v.BS.reduce((t, b) => t + b.length, 0);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L) return 3 + v.L.reduce((t, x) => t + 1 + attributeValueSize(x), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((t, [k, x]) => t + 1 + bytes(k) + attributeValueSize(x), 0);
  throw new Error(`unknown attribute value ${JSON.stringify(v)}`);
}

/** The item's size in bytes. */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((t, [name, v]) => t + bytes(name) + attributeValueSize(v), 0);
}
