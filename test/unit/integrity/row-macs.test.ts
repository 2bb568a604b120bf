import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { RowMacs } from '../../../src/integrity/row-macs.js';
import { APPROVAL_ROW, APPROVAL_SUBJECT_ROW, CONSENT_ROW, READ_COUNTER_ROW } from '../../../src/store/access-repository.js';
import { AUDIT_ANCHOR_ROW, AUDIT_CONFIG_ROW, AUDIT_ENTRY_ROW } from '../../../src/store/audit-repository.js';
import type { AnyRowSpec } from '../../../src/store/rows.js';
import { BLIND_INDEX_ROW, CANARY_ROW } from '../../../src/store/guard-repository.js';
import { KEK_ROW } from '../../../src/store/kek-repository.js';
import { ERASURE_TOTALS_ROW, ROTATION_ROW } from '../../../src/store/rotation-repository.js';
import { hashCanonical } from '../../../src/crypto/hash.js';
import { u64 } from '../../../src/format/canonical.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const key = () => new SecretBytes(new Uint8Array(32).fill(7));
const consent = {
  id: 'cns_0190a3b4-1234-7abc-8def-0123456789ab',
  subjectTag: new Uint8Array(32).fill(1),
  purpose: 'location-sharing',
  categories: 'location',
  guardianRef: 'g:mother-1',
  verification: 'sms-code',
  noticeVersion: '2026-09',
  grantedAt: 1_790_000_000_000,
  expiresAt: null,
  withdrawnAt: null,
};

beforeAll(async () => {
  await loadSodium();
});

describe('row MACs', () => {
  it('are keyed BLAKE2b-256 over the declared columns in order, under the table\'s domain (docs/format.md §9)', () => {
    const rows = new RowMacs(key());
    const expected = hashCanonical(
      'row/consents',
      [consent.id, consent.subjectTag, consent.purpose, consent.categories, consent.guardianRef, consent.verification, consent.noticeVersion, u64(consent.grantedAt), new Uint8Array(0), new Uint8Array(0)],
      key(),
    );
    expect(Buffer.from(rows.mac(CONSENT_ROW, consent)).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(Buffer.from(new RowMacs(new SecretBytes(new Uint8Array(32).fill(8))).mac(CONSENT_ROW, consent))).not.toEqual(Buffer.from(expected));
  });

  it('tell a NULL time from 0, and fail for any changed column, whether or not the row was remembered', () => {
    const rows = new RowMacs(key());
    const mac = rows.mac(CONSENT_ROW, consent);
    expect(rows.check(CONSENT_ROW, { ...consent }, mac, consent.id)).toEqual(consent);
    const changes: Partial<typeof consent>[] = [
      { withdrawnAt: 0 } as never,
      { expiresAt: 0 } as never,
      { id: 'cns_0190a3b4-1234-7abc-8def-0123456789ac' },
      { subjectTag: new Uint8Array(32).fill(2) },
      { purpose: 'account' },
      { categories: 'location,contact' },
      { grantedAt: consent.grantedAt + 1 },
    ];
    for (const change of changes) {
      // A fresh authenticator has nothing remembered; the first one remembers the genuine row.
      for (const checker of [rows, new RowMacs(key())]) {
        const error = expectVaultError(() => checker.check(CONSENT_ROW, { ...consent, ...change }, mac, consent.id), 'INTEGRITY');
        expect(error.message).toContain(`consents row ${consent.id} failed authentication`);
        expect(error.field).toBe(`consents:${consent.id}`);
      }
    }
    expectVaultError(() => rows.check(CONSENT_ROW, consent, null, consent.id), 'INTEGRITY');
    expectVaultError(() => rows.check(CONSENT_ROW, { ...consent, grantedAt: 'soon' } as never, mac, consent.id), 'INTEGRITY');
    expectVaultError(() => rows.check(CONSENT_ROW, { ...consent, grantedAt: -1 }, mac, consent.id), 'INTEGRITY');
  });

  it('remember a row written for reading back (a read counter) only as written: a changed slot with its MAC fails', () => {
    const rows = new RowMacs(key());
    const counts = new Uint8Array(240);
    counts[239] = 5;
    const counter = { actor: 'svc:bench', minute: 29_833_333, counts };
    const mac = rows.mac(READ_COUNTER_ROW, counter);
    // Read back as the store returns it: a Buffer copy of the bytes, the MAC as written.
    expect(rows.check(READ_COUNTER_ROW, { ...counter, counts: Buffer.from(counts) }, Buffer.from(mac), counter.actor)).toBeTruthy();
    const lowered = Buffer.from(counts);
    lowered[239] = 0;
    expectVaultError(() => rows.check(READ_COUNTER_ROW, { ...counter, counts: lowered }, mac, counter.actor), 'INTEGRITY');
    expectVaultError(() => rows.check(READ_COUNTER_ROW, { ...counter, minute: counter.minute - 60 }, mac, counter.actor), 'INTEGRITY');
  });

  it('bind the table: the same columns under another table fail', () => {
    const rows = new RowMacs(key());
    const entry = { seq: 5, hash: new Uint8Array(32).fill(3) };
    const mac = rows.mac(AUDIT_ENTRY_ROW, entry);
    expectVaultError(() => new RowMacs(key()).check({ ...AUDIT_ENTRY_ROW, table: 'audit_other' }, entry, mac, 'seq 5'), 'INTEGRITY');
  });

  it('are declared in docs/format.md §9 exactly as in the code', () => {
    const doc = readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## 9. Authenticated rows'));
    const documented = new Map(
      [...section.matchAll(/^\| `([a-z_]+)` \| ([^|]+) \|$/gm)].map((m) => [m[1], (m[2] ?? '').split(',').map((c) => c.trim())]),
    );
    const snake = (n: string) => n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const specs: readonly AnyRowSpec[] = [AUDIT_ENTRY_ROW, AUDIT_ANCHOR_ROW, AUDIT_CONFIG_ROW, CONSENT_ROW, APPROVAL_ROW, APPROVAL_SUBJECT_ROW, READ_COUNTER_ROW, KEK_ROW, ROTATION_ROW, ERASURE_TOTALS_ROW, CANARY_ROW, BLIND_INDEX_ROW];
    for (const spec of specs) {
      const columns = spec.names.map((n) => `${snake(n)}${spec.columns[n] === 'int?' ? '?' : ''}`);
      expect(documented.get(spec.table), spec.table).toEqual(columns);
    }
    expect(documented.size).toBe(specs.length);
  });
});
