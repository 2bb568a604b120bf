/**
 * Fills an existing vault's audit log with `count` genuine entries, fast: the vault's own entry
 * code (canonical digest, BLAKE2b chain, `AuditRepository.insert`, `AuditLog.checkpoint` every
 * 1000 entries signing with the vault's Ed25519 key, per-subject pseudonyms from
 * `AuditLog.pseudonym` under the vault's pseudonym key) inside transactions of 50,000 entries on the vault's own file, with
 * the keys unwrapped exactly as `openVault` does. Only the per-operation transaction and the
 * operation itself are skipped, so the result is the chain a long-running service would have
 * produced, and `vault.audit.verify` accepts it (the bench checks that it does).
 */
import { AUDIT_PSEUDONYM_KEY, AUDIT_SIGNING_KEY, AuditLog, DEFAULT_CHECKPOINT_EVERY } from '../src/audit/audit-log.js';
import { canonicalCategories, canonicalDetail, chainHash, entryDigest, type UnhashedEntry } from '../src/audit/entry.js';
import { signingKeyFromSeed } from '../src/crypto/signing.js';
import { loadSodium } from '../src/crypto/sodium.js';
import type { MasterKeyProvider } from '../src/keys/master-key.js';
import { SUBJECT_INDEX_KEY, subjectTag } from '../src/keys/subject-index.js';
import { loadVaultKeys } from '../src/keys/unlock.js';
import { AUDIT_ENTRY_ROW, AuditRepository } from '../src/store/audit-repository.js';
import { openDatabase, writeTransaction } from '../src/store/database.js';
import { unlockForBench } from './unlock.js';

const BATCH = 50_000;
const SUBJECTS = 1000;

/**
 * Appends `count` entries to the audit log of the vault at `path` (created beforehand by
 * `openVault`, and not open elsewhere while this runs). The mix is what the bench's services
 * write: reads and writes of a location for 1000 subjects by `svc:bench`, every fourth with a
 * request id. Returns the log's head seq afterwards.
 */
export async function appendAuditEntries(path: string, masterKey: MasterKeyProvider, count: number): Promise<number> {
  await loadSodium();
  const db = openDatabase({ path, durability: 'normal' });
  try {
    const unlocked = await unlockForBench(db, masterKey);
    const keys = await loadVaultKeys(db, { meta: unlocked.metaRepo }, masterKey, unlocked.meta, [SUBJECT_INDEX_KEY, AUDIT_PSEUDONYM_KEY, AUDIT_SIGNING_KEY], Date.now());
    const indexKey = keys.get(SUBJECT_INDEX_KEY)!;
    const seed = keys.get(AUDIT_SIGNING_KEY)!;
    const signingKey = signingKeyFromSeed(seed);
    seed.wipe();
    const repo = new AuditRepository(db);
    const vaultId = unlocked.meta.vaultId;
    const log = new AuditLog({ repo, rows: unlocked.rows, vaultId, pseudonymKey: keys.get(AUDIT_PSEUDONYM_KEY)!, signingKey, checkpointEvery: DEFAULT_CHECKPOINT_EVERY });
    try {
      const tags = Array.from({ length: SUBJECTS }, (_, i) => subjectTag(indexKey, `g:${i + 1}`));
      indexKey.wipe();
      // What AuditLog.append does per entry (appendEntry: toEntry, entryDigest, chainHash, MAC, insert;
      // then a signed checkpoint every 1000 entries), with the head, the pseudonyms and the canonical text of
      // the constant fields kept in memory instead of recomputed each time (nothing else writes
      // meanwhile).
      const pseudonyms = await writeTransaction(db, 'bench: audit pseudonyms', () => tags.map((tag) => log.pseudonym(tag, true)!));
      let head = repo.head() ?? { seq: 0, hash: log.genesis };
      const start = Date.now() - count; // one entry per millisecond, ending now
      // The stored (canonical) text of the fields toEntry would derive from the records.
      const categories = canonicalCategories(['location']);
      const putDetail = canonicalDetail({ views: 'location:full' });
      const getDetail = canonicalDetail({ returned: 1, views: 'location:full' });
      for (let done = 0; done < count; ) {
        const n = Math.min(BATCH, count - done);
        head = await writeTransaction(db, 'bench: filling the audit log', () => {
          let { seq, hash: prevHash } = head;
          for (let i = done; i < done + n; i++) {
            const put = i % 10 === 0;
            const unhashed: UnhashedEntry = {
              seq: ++seq,
              ts: start + i,
              actor: 'svc:bench',
              role: 'service',
              purpose: 'bench',
              action: put ? 'put' : 'get',
              subject: pseudonyms[i % SUBJECTS]!,
              categories,
              outcome: 'allowed',
              reason: null,
              approval: null,
              consent: null,
              requestId: i % 4 === 0 ? `req-${String(i).padStart(8, '0')}` : null,
              detail: put ? putDetail : getDetail,
            };
            const hash = chainHash(prevHash, entryDigest(unhashed));
            repo.insert({ ...unhashed, prevHash, hash }, unlocked.rows.mac(AUDIT_ENTRY_ROW, { seq, hash }));
            prevHash = hash;
            // The vault's own checkpoint code (format, cadence, checks before signing).
            if (seq % DEFAULT_CHECKPOINT_EVERY === 0) log.checkpoint(unhashed.ts);
          }
          return { seq, hash: prevHash };
        });
        done += n;
      }
      return head.seq;
    } finally {
      log.wipe();
      unlocked.wipe();
      for (const key of keys.values()) key.wipe();
    }
  } finally {
    masterKey.close?.();
    db.close();
  }
}
