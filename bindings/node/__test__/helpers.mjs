// Shared helpers of the Node test suite.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = join(HERE, '..', '..', '..');
export const require = createRequire(import.meta.url);

/** JSON with {"$data": base64} and {"$date": RFC 3339} markers -> Buffers and Dates. */
export function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$data') return Buffer.from(value.$data, 'base64');
    if (keys.length === 1 && keys[0] === '$date') return new Date(value.$date);
    return Object.fromEntries(keys.map((k) => [k, fromJson(value[k])]));
  }
  return value;
}

/** A case's body: "body" (UTF-8 text) or "body_base64". */
export function body(input) {
  if ('body_base64' in input) return Buffer.from(input.body_base64, 'base64');
  return Buffer.from(String(input.body), 'utf8');
}

export function fixture(...parts) {
  return readFileSync(join(REPO, ...parts));
}

/** A fresh 64-hex-digit at-rest key. */
export function atRestKey() {
  return Array.from({ length: 32 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
}
