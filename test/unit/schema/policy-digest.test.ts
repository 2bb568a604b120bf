import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blake2b } from '../../../src/crypto/hash.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { toHex } from '../../../src/format/ids.js';
import { builtInCategories } from '../../../src/schema/categories.js';
import { policyDigest, resolvePolicy } from '../../../src/schema/policy.js';
import { EXAMPLE_POLICY_PATH } from '../../helpers/policy.js';

beforeAll(loadSodium);

const example = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as unknown;

/** The same data with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
}

/** Canonical JSON written independently: sorted keys (the policy's keys are ASCII, so sort() is code-point order), no spaces. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

const digestOf = (input: unknown): string => policyDigest(resolvePolicy(input, builtInCategories));

describe('policyDigest', () => {
  it('is the same for the same policy written in another key order', () => {
    const flipped = reversed(example);
    expect(JSON.stringify(flipped)).not.toBe(JSON.stringify(example));
    expect(digestOf(flipped)).toBe(digestOf(example));
  });

  it('hashes the canonical JSON: keys sorted recursively by code point, no whitespace', () => {
    expect(digestOf(example)).toBe(toHex(blake2b(new TextEncoder().encode(sortedJson(example)))).slice(0, 16));
    expect(digestOf(example)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes when the policy changes', () => {
    const changed = JSON.parse(JSON.stringify(example)) as { officers: string[] };
    changed.officers = [...changed.officers, 'staff:another-officer'];
    expect(digestOf(changed)).not.toBe(digestOf(example));
  });
});
