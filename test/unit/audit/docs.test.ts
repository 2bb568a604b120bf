/**
 * docs/audit.md against the code: the action list is the one the writer is typed with, and every
 * row of the verification tables is produced — by tampering with a real export — with exactly the
 * message the row shows. A regulator's verifier is written from those tables; they must not drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, chainHash, entryDigest, toEntry, type AuditEntry } from '../../../src/audit/entry.js';
import { fromHex } from '../../../src/audit/export-text.js';
import { writeAuditExport, type ExportFormat, type ExportSource } from '../../../src/audit/export.js';
import type { ExportFilter } from '../../../src/audit/export-format.js';
import { verifyAuditExportFile } from '../../../src/audit/verify-file.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { buildChain, collector, sampleRecord, T0, testSigningKey, type TestChain } from '../../helpers/audit-chain.js';
import { hex, makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';

const AUDIT_MD = readFileSync(new URL('../../../docs/audit.md', import.meta.url), 'utf8');

/** The rows of the table that follows `marker` in docs/audit.md: [left cell, right cell]. */
function tableAfter(marker: string): [string, string][] {
  const at = AUDIT_MD.indexOf(marker);
  expect(at, `docs/audit.md has no ${marker} marker`).toBeGreaterThan(-1);
  const lines = AUDIT_MD.slice(at).split('\n').slice(1);
  const rows: [string, string][] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(' | ');
    const left = (cells[0] ?? '').replace(/^\| /, '');
    const right = cells.slice(1).join(' | ').replace(/ \|$/, '');
    rows.push([left, right]);
  }
  expect(rows.length).toBeGreaterThan(5);
  return rows;
}

/** A message template (`entry <n> was modified: …`, in backticks) as an anchored regex. */
function templateRegex(cell: string): RegExp {
  const template = /^`(.*)`$/.exec(cell)?.[1];
  if (template === undefined) throw new Error(`not a message template: ${cell}`);
  const parts = template.split(/<[a-z]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(.+?)')}$`);
}

let chain: TestChain;
let dir: string;
let files = 0;

beforeAll(async () => {
  await loadSodium();
  // Checkpoints at 0, 10, 20 and 25; line 1 the header, line 2 the genesis checkpoint.
  chain = buildChain(25, { checkpointEvery: 10 });
  dir = makeTempDir();
});

afterAll(() => {
  removeTempDir(dir);
});

type Rec = Record<string, unknown>;

async function exportText(source: ExportSource = chain.source(), format: ExportFormat = 'jsonl', filter: ExportFilter = {}): Promise<string> {
  const out = collector();
  await writeAuditExport(source, out.stream, { format, filter });
  return out.text();
}

async function records(filter: ExportFilter = {}): Promise<Rec[]> {
  return (await exportText(chain.source(), 'jsonl', filter))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
}

const text = (recs: readonly Rec[]): string => recs.map((r) => `${JSON.stringify(r)}\n`).join('');
const index = (recs: readonly Rec[], type: string, seq: number): number => recs.findIndex((r) => r['type'] === type && (r['seq'] ?? r['from']) === seq);

/** The verifier's message for a file with this content. */
async function messageOf(content: string | Uint8Array, publicKey = chain.key.publicKey): Promise<string> {
  const path = join(dir, `tampered-${files++}`);
  writeFileSync(path, content);
  const report = await verifyAuditExportFile(path, publicKey);
  expect(report.ok).toBe(false);
  return report.problem?.message ?? '';
}

/** An export whose records were edited by `edit` (JSON Lines). */
async function edited(edit: (recs: Rec[]) => void, filter: ExportFilter = {}): Promise<string> {
  const recs = await records(filter);
  edit(recs);
  return messageOf(text(recs));
}

/** Sets fields of entry `seq`. */
const setEntry = (seq: number, change: Rec) => (recs: Rec[]) => Object.assign(recs[index(recs, 'entry', seq)]!, change);

/**
 * A format 2 export filtered to entries 12 and 13: the header, the genesis checkpoint, a chain
 * record at 11, entries 12 and 13, digests 14-20, the checkpoints at 20 and 25 (the head).
 */
const STRETCH: ExportFilter = { since: T0 + 12_000, until: T0 + 13_000 };

/** The chain with a forged entry inserted after entry 5 and every hash after it recomputed, without the key. */
function forgedEntries(): AuditEntry[] {
  const list = Array.from({ length: 25 }, (_v, i) => sampleRecord(i + 1));
  list.splice(5, 0, { ...sampleRecord(6), actor: 'svc:forger' });
  let prev = chain.genesis;
  return list.map((r, i) => {
    const u = toEntry(i + 1, r);
    const hash = chainHash(prev, entryDigest(u));
    const e = { ...u, prevHash: prev, hash };
    prev = hash;
    return e;
  });
}

/** How to produce each row of the tamper table. */
const TAMPERING: Record<string, () => Promise<string>> = {
  'a field edited': () => edited(setEntry(5, { actor: 'svc:evil' })),
  "an entry's `prevHash` edited": () => edited(setEntry(5, { prevHash: 'ab'.repeat(32) })),
  'an entry deleted, or moved': () => edited((recs) => recs.splice(index(recs, 'entry', 7), 1)),
  'entries deleted': () => edited((recs) => recs.splice(index(recs, 'entry', 7), 2)),
  'an entry duplicated, or copied further down': () => edited((recs) => recs.splice(index(recs, 'entry', 12) + 1, 0, structuredClone(recs[index(recs, 'entry', 12)]!))),
  'a forged entry inserted (chain re-hashed after it)': async () => {
    const forged = forgedEntries();
    return messageOf(await exportText({ ...chain.source(), pageEntries: (a, u, l) => forged.slice(a, Math.min(u, a + l)) }));
  },
  'the tail cut before the last checkpoint': () => edited((recs) => recs.splice(index(recs, 'entry', 21), 5)),
  'a forged or altered checkpoint': () =>
    edited((recs) => {
      recs[index(recs, 'checkpoint', 10)]!['ts'] = '2030-01-01T00:00:00.000Z';
    }),
  'the genesis checkpoint deleted': () => edited((recs) => recs.splice(index(recs, 'checkpoint', 0), 1)),
  'a checkpoint deleted': () => edited((recs) => recs.splice(index(recs, 'checkpoint', 10), 1)),
  'an export cut short': () => edited((recs) => recs.splice(index(recs, 'entry', 23))),
  'an export cut after its last entry': () => edited((recs) => recs.pop()),
  'lines appended': () => edited((recs) => recs.push(structuredClone(recs[index(recs, 'entry', 1)]!))),
  'an export cut at an earlier checkpoint and re-headed, or its filter edited': () =>
    edited((recs) => {
      Object.assign(recs[0]!, { head: 20, exportedAt: recs[index(recs, 'checkpoint', 20)]!['ts'] });
      recs.splice(index(recs, 'checkpoint', 20) + 1);
    }),
  "the header's vault id or genesis edited": () => edited((recs) => Object.assign(recs[0]!, { vaultId: '43'.repeat(16) })),
  "another vault's export, or re-signed by someone else": async () => messageOf(await exportText(), testSigningKey(9).publicKey),
  "an entry's contents removed from an unfiltered export": () =>
    edited((recs) => {
      const i = index(recs, 'entry', 3);
      recs[i] = { type: 'elided', from: 3, digests: [hex(entryDigest(chain.entries[2]!))] };
    }),
  'an entry outside the filter shown in full': async () => {
    // A filtered export with an elided entry put back in full (its text known from another export).
    const full = await records();
    return edited(
      (recs) => {
        const i = recs.findIndex((r) => r['type'] === 'elided');
        const run = recs[i]!;
        const from = run['from'] as number;
        const rest = (run['digests'] as string[]).slice(1);
        recs.splice(i, 1, full[index(full, 'entry', from)]!, ...(rest.length === 0 ? [] : [{ type: 'elided', from: from + 1, digests: rest }]));
      },
      { actor: 'svc:map' },
    );
  },
  'a `chain` record forged (the entries after it re-hashed up to the next checkpoint)': () =>
    edited((recs) => {
      let prev = 'ab'.repeat(32);
      recs[index(recs, 'chain', 11)]!['hash'] = prev;
      for (const seq of [12, 13]) {
        prev = hex(chainHash(fromHex(prev), entryDigest(chain.entries[seq - 1]!)));
        Object.assign(recs[index(recs, 'entry', seq)]!, { prevHash: recs[index(recs, 'entry', seq) - 1]!['hash'], hash: prev });
      }
    }, STRETCH),
  'a digest removed from the run that ends a stretch': () => edited((recs) => (recs[index(recs, 'elided', 14)]!['digests'] as string[]).pop(), STRETCH),
  'a `chain` record anywhere but right after a checkpoint': () =>
    edited((recs) => recs.splice(index(recs, 'entry', 13), 0, { type: 'chain', seq: 12, hash: recs[index(recs, 'entry', 12)]!['hash'] }), STRETCH),
  'a `chain` record not followed by the entry after it': () => edited((recs) => recs.splice(index(recs, 'entry', 12), 2), STRETCH),
  'digests right after a checkpoint in a filtered export (the first entry of a stretch hidden among them)': () =>
    edited((recs) => recs.splice(index(recs, 'chain', 11), 2, { type: 'elided', from: 11, digests: [11, 12].map((s) => hex(entryDigest(chain.entries[s - 1]!))) }), STRETCH),
  'a checkpoint a filtered export leaves out put back': () =>
    edited((recs) => {
      const cp = chain.checkpoints.find((c) => c.seq === 10)!;
      recs.splice(index(recs, 'chain', 11), 0, { type: 'checkpoint', seq: 10, ts: new Date(cp.ts).toISOString(), hash: hex(cp.hash), signature: hex(cp.signature) });
    }, STRETCH),
  'an export relabelled as another format version': () => edited((recs) => Object.assign(recs[0]!, { format: 'childvault-audit-export/1' })),
  'a record re-spelled with the same values (spacing, key order, escapes, number spelling, duplicate keys)': async () => {
    const lines = (await exportText()).split('\n');
    lines[7] = lines[7]!.replace('"seq":6,', '"seq": 6,');
    return messageOf(lines.join('\n'));
  },
};

/** How to produce each row of the non-canonical-forms table. */
const NON_CANONICAL: Record<string, () => Promise<string>> = {
  'categories out of order or repeated (`["location","contact"]`, `["face","face"]`)': () => edited(setEntry(2, { categories: ['location', 'contact'] })),
  'a category holding `,` or outside the alphabet (`["contact,location"]`)': () => edited(setEntry(2, { categories: ['contact,location'] })),
  'an empty text for null (`"reason":""`)': () => edited(setEntry(2, { reason: '' })),
  'an empty detail for null (`"detail":{}`)': () => edited(setEntry(1, { detail: {} })),
  'detail keys out of order or repeated': () => edited(setEntry(2, { detail: { returned: 2, note: 'x' } })),
  'a detail key outside the alphabet': () => edited(setEntry(2, { detail: { '10': 2 } })),
  'a detail number that is not a safe whole number (`1.5`, `1e21`)': () => edited(setEntry(2, { detail: { returned: 1.5 } })),
  'an unpaired surrogate (`"\\ud800"`)': () => edited(setEntry(2, { actor: 'svc:\ud800' })),
  'an action that is not an action name': () => edited(setEntry(2, { action: 'Get' })),
  'a CSV cell quoted without need (`"face"`, `""`)': async () => {
    const csv = await exportText(chain.source(), 'csv');
    // Entry 3 has the single category face.
    const quoted = csv.replace(/\r\nentry,3,([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),face,/, '\r\nentry,3,$1,$2,$3,$4,$5,$6,"face",');
    expect(quoted).not.toBe(csv);
    return messageOf(quoted);
  },
  'invalid UTF-8': async () => {
    const bytes = Buffer.from(await exportText());
    bytes[bytes.indexOf('svc:profile')] = 0xff;
    return messageOf(bytes);
  },
};

describe('docs/audit.md', () => {
  it('lists exactly the actions the writer is typed with', () => {
    const at = AUDIT_MD.indexOf('<!-- actions:');
    const paragraph = AUDIT_MD.slice(AUDIT_MD.indexOf('\n', at) + 1, AUDIT_MD.indexOf('\n\n', at));
    const listed = [...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(listed).toEqual([...AUDIT_ACTIONS]);
  });

  it('has a tampering case for every row of the tamper table, and a row for every case', () => {
    expect(tableAfter('<!-- tamper-table').map(([left]) => left).sort()).toEqual(Object.keys(TAMPERING).sort());
    expect(tableAfter('<!-- canonical-table').map(([left]) => left).sort()).toEqual(Object.keys(NON_CANONICAL).sort());
  });

  it.each(tableAfter('<!-- tamper-table'))('tamper table: %s is caught with the message shown', async (row, message) => {
    const produce = TAMPERING[row];
    expect(produce, row).toBeDefined();
    expect(await produce!()).toMatch(templateRegex(message));
  });

  it.each(tableAfter('<!-- canonical-table'))('non-canonical forms: %s is refused with the message shown', async (row, message) => {
    const produce = NON_CANONICAL[row];
    expect(produce, row).toBeDefined();
    expect(await produce!()).toMatch(templateRegex(message));
  });
});
