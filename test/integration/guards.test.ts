/**
 * The leak guards on a real vault: blind indexes follow every write, replacement, erasure and
 * expiry; canaries are indexed as such and flagged when read; a scan of a real SQLite file finds
 * leaked values by place and kind, never by value, and is audited.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FILTER_REFRESH_MS } from '../../src/guard/digest-filter.js';
import { MAX_CONFIRMED_PER_HOUR } from '../../src/vault-guard.js';
import { isVaultError, type ScanOptions, type Vault } from '../../src/index.js';
import { ctx, freshVault, sampleContact } from '../helpers/fixtures.js';

const ADULT = { phone: '+8613911112222', email: 'adult@example.org', address: 'No. 9 Grown-up Street, Hangzhou' };
function photo(seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed * 7) & 0xff;
  return bytes;
}

/** The refusal's code and message, or null when the guard lets the value through. */
function refusal(vault: Vault, value: unknown): { code: string; message: string } | null {
  try {
    vault.guard.assertNoMinorData(value, { where: 'test log' });
    return null;
  } catch (error) {
    if (!isVaultError(error)) throw error;
    return { code: error.code, message: error.message };
  }
}

/** The vault's audit log, parsed. */
async function auditEntries(vault: Vault): Promise<{ action?: string; outcome?: string; detail?: Record<string, unknown> | null }[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await vault.audit.export(out, {}, ctx);
  out.end();
  return Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { action?: string; detail?: Record<string, unknown> | null });
}

describe('blind indexes on a real vault', () => {
  it('recognise a stored child\'s phone, e-mail, address and photo in any form, and nothing of an adult', async () => {
    const { vault } = await freshVault();
    try {
      await vault.put('u:1', { contact: sampleContact, face: { image: photo(1) } }, ctx);
      const leaks = [
        { note: 'call back on +86 138 0013 8000 after six' },
        { guardian: { mail: 'PARENT@Example.com ' } },
        ['no. 1 test road, HANGZHOU'],
        new Map([['avatar', Buffer.from(photo(1))]]),
        { avatar: `data:image/jpeg;base64,${Buffer.from(photo(1)).toString('base64')}` },
        JSON.stringify({ nested: JSON.stringify({ phone: '13800138000' }) }),
      ];
      for (const leak of leaks) {
        const r = refusal(vault, leak);
        expect(r?.code).toBe('PLAINTEXT_LEAK');
        expect(r?.message).toContain('test log');
        for (const secret of ['13800138000', 'parent@', 'test road', 'Test Road']) expect(r?.message).not.toContain(secret);
      }
      expect(refusal(vault, { note: `adult ${ADULT.phone}`, mail: ADULT.email, address: ADULT.address, avatar: Buffer.from(photo(2)) })).toBeNull();
    } finally {
      await vault.close();
    }
  });

  it('follow replacement, erasure and retention: old values stop matching', async () => {
    let now = new Date('2026-11-01T00:00:00Z');
    const { vault } = await freshVault({ now: () => now });
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      await vault.put('u:1', { contact: { phone: '+8613700000001' } }, ctx);
      expect(refusal(vault, sampleContact.phone)).toBeNull();
      expect(refusal(vault, '+8613700000001')?.code).toBe('PLAINTEXT_LEAK');

      await vault.erase('u:1', ctx);
      expect(refusal(vault, '+8613700000001')).toBeNull();

      await vault.put('u:2', { contact: { email: 'kid2@example.com' } }, ctx);
      expect(refusal(vault, 'kid2@example.com')?.code).toBe('PLAINTEXT_LEAK');
      now = new Date('2027-12-01T00:00:00Z'); // past contact's 365-day retention
      await vault.retention.sweep(ctx);
      expect(refusal(vault, 'kid2@example.com')).toBeNull();
    } finally {
      await vault.close();
    }
  });

  it('are gone from the file after erasure: no digest row survives', async () => {
    const { vault, path } = await freshVault();
    try {
      await vault.put('u:1', { contact: sampleContact, face: { image: photo(3) } }, ctx);
      const db = new Database(path, { readonly: true });
      try {
        expect((db.prepare('SELECT count(*) AS n FROM blind_index').get() as { n: number }).n).toBe(4);
        await vault.erase('u:1', ctx);
        expect((db.prepare('SELECT count(*) AS n FROM blind_index').get() as { n: number }).n).toBe(0);
      } finally {
        db.close();
      }
    } finally {
      await vault.close();
    }
  });

  it('see values another connection (another process) stored, within the filter refresh interval', async () => {
    const { vault, reopen } = await freshVault();
    const other = await reopen();
    try {
      expect(refusal(vault, 'warm the guard up +8613700000009')).toBeNull();
      await other.put('u:9', { contact: { phone: '+8613700000009' } }, ctx);
      await new Promise((resolve) => setTimeout(resolve, FILTER_REFRESH_MS + 20));
      expect(refusal(vault, 'now +8613700000009')?.code).toBe('PLAINTEXT_LEAK');
    } finally {
      await other.close();
      await vault.close();
    }
  });

  it('recognise full-width digits and ＠ (as Chinese input methods type them) and 86 without a plus', async () => {
    const { vault } = await freshVault();
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      expect(refusal(vault, '电话：１３８００１３８０００')?.code).toBe('PLAINTEXT_LEAK');
      expect(refusal(vault, 'parent＠example.com')?.code).toBe('PLAINTEXT_LEAK');
      expect(refusal(vault, 'msisdn 8613800138000')?.code).toBe('PLAINTEXT_LEAK');
      expect(refusal(vault, { id: 'user13800138000' })?.code).toBe('PLAINTEXT_LEAK');
    } finally {
      await vault.close();
    }
  });

  it('audit every confirmed match with its label and kinds, never the value, and stop answering past the hourly cap', async () => {
    let now = Date.parse('2026-11-01T00:00:00Z');
    const { vault } = await freshVault({ durability: 'normal', now: () => new Date(now) });
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      expect(refusal(vault, { note: sampleContact.phone })?.code).toBe('PLAINTEXT_LEAK');
      expect(refusal(vault, { note: 'clean' })).toBeNull();
      expect(() => { vault.guard.assertNoMinorData('x', { where: 'bad\nlabel' }); }).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
      const entries = await auditEntries(vault);
      const refused = entries.filter((e) => e.action === 'guard.refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ outcome: 'denied', reason: 'PLAINTEXT_LEAK', detail: { where: 'test log', subjectData: 1, canaries: 0, fields: 'contact.phone' } });
      expect(JSON.stringify(entries)).not.toContain('13800138000');
      expect((await vault.audit.report({ since: new Date(0), until: new Date(now + 1000) }, ctx)).leaks.guardRefusals).toBe(1);

      for (let i = 0; i < MAX_CONFIRMED_PER_HOUR; i++) refusal(vault, sampleContact.phone);
      expect(refusal(vault, 'anything +8613900000000')?.code).toBe('RATE_LIMITED');
      expect((await auditEntries(vault)).some((e) => e.action === 'guard.refused' && e.detail?.['locked'] === true)).toBe(true);
      now += 3_600_000; // the next hour
      expect(refusal(vault, sampleContact.phone)?.code).toBe('PLAINTEXT_LEAK');
    } finally {
      await vault.close();
    }
  });

  it('refuse once the vault is closed (fail closed)', async () => {
    const { vault } = await freshVault();
    const raw = new Database(':memory:');
    raw.exec('CREATE TABLE t (x TEXT)');
    const guarded = vault.guard.database(raw);
    await vault.close();
    expect(() => {
      vault.guard.assertNoMinorData({ clean: 'text' });
    }).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => guarded.prepare('INSERT INTO t VALUES (?)').run('clean text')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    raw.close();
  });
});

describe('guarded service database', () => {
  it('refuses a write of a stored child\'s data and lets clean writes and every read through', async () => {
    const { vault, dir } = await freshVault();
    const raw = new Database(join(dir, 'service.db'));
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      raw.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
      raw.prepare('INSERT INTO notes (body) VALUES (?)').run(`legacy row ${sampleContact.phone}`); // written before the guard
      const db = vault.guard.database(raw);
      db.prepare('INSERT INTO notes (body) VALUES (?)').run('all good');
      expect(() => db.prepare('INSERT INTO notes (body) VALUES (?)').run(`ring ${sampleContact.phone}`)).toThrow(expect.objectContaining({ code: 'PLAINTEXT_LEAK' }));
      expect(() => {
        db.exec(`UPDATE notes SET body = '${sampleContact.email}' WHERE id = 1`);
      }).toThrow(expect.objectContaining({ code: 'PLAINTEXT_LEAK' }));
      expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 2 });
    } finally {
      raw.close();
      await vault.close();
    }
  });
});

describe('scan options', () => {
  it('refuses a misspelled option with VALIDATION naming it, and a progress callback that is not a function', async () => {
    const { vault, dir } = await freshVault();
    const log = join(dir, 'app.log');
    writeFileSync(log, 'INFO ok\n');
    try {
      const misspelled = await vault.guard.scan([log], ctx, { pattern: true } as ScanOptions).then(
        () => null,
        (error: unknown) => error,
      );
      expect(misspelled).toMatchObject({ code: 'VALIDATION', field: 'options' });
      expect((misspelled as Error).message).toContain('pattern');
      const callback = await vault.guard.scan([log], ctx, { onProgress: 'yes' } as unknown as ScanOptions).then(
        () => null,
        (error: unknown) => error,
      );
      expect(callback).toMatchObject({ code: 'VALIDATION', field: 'options.onProgress' });
      let calls = 0;
      const ok = await vault.guard.scan([log], ctx, { patterns: true, maxFindingsPerFile: 10, busyTimeoutMs: 100, onProgress: () => {
        calls++;
      } });
      expect(ok.findings).toEqual([]);
      expect(calls).toBeGreaterThan(0);
    } finally {
      await vault.close();
    }
  });
});

describe('a value behind a duplicate JSON key (issue 9)', () => {
  it('is refused by assertNoMinorData and by a guarded INSERT, though JSON.parse keeps only the clean last key', async () => {
    const { vault, dir } = await freshVault();
    const raw = new Database(join(dir, 'service.db'));
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      const hidden = `{"p":"${sampleContact.phone}","p":null}`;
      expect(JSON.parse(hidden)).toEqual({ p: null });
      const r = refusal(vault, hidden);
      expect(r?.code).toBe('PLAINTEXT_LEAK');
      expect(r?.message).not.toContain('13800138000');
      expect(refusal(vault, { event: 'signup', body: hidden })?.message).toContain('$.body');
      raw.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)');
      const db = vault.guard.database(raw);
      expect(() => db.prepare('INSERT INTO events (body) VALUES (?)').run(hidden)).toThrow(expect.objectContaining({ code: 'PLAINTEXT_LEAK' }));
      expect(() => db.prepare('INSERT INTO events (body) VALUES (@body)').run({ body: hidden })).toThrow(expect.objectContaining({ code: 'PLAINTEXT_LEAK' }));
      expect(raw.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
    } finally {
      raw.close();
      await vault.close();
    }
  });
});

describe('canaries', () => {
  it('are planted in one audited transaction, counted, flagged when read, and reported as CANARY by a scan', async () => {
    const { vault, dir } = await freshVault();
    try {
      await vault.put('u:1', { contact: sampleContact }, ctx);
      const receipt = await vault.canaries.plant(3, ctx);
      expect(receipt).toMatchObject({ planted: 3, total: 3 });
      expect(new Set(receipt.subjects).size).toBe(3);
      expect(vault.canaries.count()).toBe(3);

      const canary = receipt.subjects[0] ?? '';
      const got = await vault.get(canary, ['contact', 'face'], ctx);
      const contact = got.contact?.reveal();
      const face = got.face?.reveal();
      expect(contact?.phone).toMatch(/^\+861\d{10}$/);
      expect(face?.image?.subarray(0, 3)).toEqual(Uint8Array.from([0xff, 0xd8, 0xff]));

      const leaky = join(dir, 'leaky.db');
      const db = new Database(leaky);
      db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT, avatar BLOB, profile TEXT)');
      db.prepare('INSERT INTO users (phone, avatar, profile) VALUES (?, ?, ?)').run(contact?.phone ?? '', Buffer.from(face?.image ?? new Uint8Array()), '{"ok":true}');
      db.prepare('INSERT INTO users (phone, avatar, profile) VALUES (?, ?, ?)').run(ADULT.phone, null, JSON.stringify({ guardian: { email: sampleContact.email } }));
      db.prepare('INSERT INTO users (phone, avatar, profile) VALUES (?, ?, ?)').run(ADULT.phone, null, JSON.stringify({ guardian: { email: ADULT.email } }));
      db.close();

      const result = await vault.guard.scan([leaky], ctx);
      const found = result.findings.map((f) => {
        const where = f.location.type === 'sqlite' ? `${f.location.table}.${f.location.column}#${f.location.rowid ?? '-'}` : f.location.type;
        return `${where} ${f.match.kind} ${'field' in f.match ? f.match.field : ''}`;
      });
      expect(found.sort()).toEqual(['users.avatar#1 canary face.image', 'users.phone#1 canary contact.phone', 'users.profile#2 subject-data contact.email']);
      const printed = JSON.stringify(result);
      for (const secret of [contact?.phone ?? '?', sampleContact.email, ADULT.phone]) expect(printed).not.toContain(secret);

      // The read of the canary and the scan are in the audit log; the scan with counts only.
      const entries = await auditEntries(vault);
      expect(entries.find((e) => e.action === 'get')?.detail).toMatchObject({ canary: true });
      expect(entries.find((e) => e.action === 'scan')?.detail).toEqual({ files: 1, findings: 3, reportedSubjectData: 1, reportedCanaries: 2, reportedPatterns: 0, incomplete: 0 });
      expect(entries.find((e) => e.action === 'canary.plant')?.detail).toEqual({ planted: 3 });
      const report = await vault.audit.report({ since: new Date(0), until: new Date(Date.now() + 60_000) }, ctx);
      expect(report.leaks).toEqual({ guardRefusals: 0, scans: 1, canaryPlantings: 1, canaryReads: 1 });
    } finally {
      await vault.close();
    }
  });

  it('use an e-mail domain the operator controls, when given one', async () => {
    const { vault } = await freshVault();
    try {
      const receipt = await vault.canaries.plant(2, ctx, { emailDomain: 'canary.example.net' });
      for (const subject of receipt.subjects) expect((await vault.get(subject, ['contact'], ctx)).contact?.reveal().email).toMatch(/@canary\.example\.net$/);
      await expect(vault.canaries.plant(1, ctx, { emailDomain: 'Not A Domain' })).rejects.toMatchObject({ code: 'VALIDATION' });
    } finally {
      await vault.close();
    }
  });

  it('refuses a plant without a grant, and a count out of range', async () => {
    const { vault } = await freshVault();
    try {
      await expect(vault.canaries.plant(0, ctx)).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(vault.canaries.plant(1001, ctx)).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(vault.canaries.plant(1, { actor: 'svc:x', role: 'nobody', purpose: 'account' })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    } finally {
      await vault.close();
    }
  });
});
