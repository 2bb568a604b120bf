/**
 * ChainVerifier on its own, fed like the live log (`VaultAudit.verify`) feeds it: the genesis
 * checkpoint first, then each entry followed by the checkpoints at its seq. The checkpoint rules:
 * the genesis checkpoint (seq 0) must exist, no two checkpoints may be more than the interval
 * apart, and the last one must be less than the interval from the end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier, type ChainReport } from '../../../src/audit/chain-verifier.js';
import { checkpointMessage } from '../../../src/audit/entry.js';
import { sign } from '../../../src/crypto/signing.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import type { CheckpointRow } from '../../../src/store/audit-repository.js';
import { buildChain, T0, testSigningKey, type TestChain } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';

let chain: TestChain;

beforeAll(async () => {
  await loadSodium();
  // Checkpoints at 0 (genesis), 10, 20 and 25 (the last entry).
  chain = buildChain(25, { checkpointEvery: 10 });
});

interface Feed {
  /** Entries 1..`upTo` (default: all). */
  readonly upTo?: number;
  /** The checkpoints to feed (default: the chain's). */
  readonly checkpoints?: readonly CheckpointRow[];
  /** The interval the verifier is built with (default: the chain's). */
  readonly every?: number;
}

function verifyChain(feed: Feed = {}): ChainReport {
  const upTo = feed.upTo ?? chain.entries.length;
  const checkpoints = feed.checkpoints ?? chain.checkpoints;
  const verifier = new ChainVerifier(chain.vaultId, chain.genesis, chain.key.publicKey, feed.every ?? chain.every);
  const upToSeq = (seq: number, from: number): number => {
    let i = from;
    for (; i < checkpoints.length && checkpoints[i]!.seq <= seq; i++) verifier.checkpoint(checkpoints[i]!);
    return i;
  };
  let next = upToSeq(0, 0);
  for (const e of chain.entries.slice(0, upTo)) {
    verifier.entry(e);
    next = upToSeq(e.seq, next);
  }
  return verifier.finish();
}

const without = (...seqs: number[]): CheckpointRow[] => chain.checkpoints.filter((c) => !seqs.includes(c.seq));

describe('ChainVerifier checkpoint rules', () => {
  it('verifies a chain with the genesis checkpoint and one at least every interval, counting the genesis', () => {
    expect(chain.checkpoints.map((c) => c.seq)).toEqual([0, 10, 20, 25]);
    const report = verifyChain();
    expect(report).toMatchObject({ ok: true, entries: 25, elided: 0, checkpoints: 4, problem: null, lastCheckpoint: { seq: 25 } });
    expect(report.head).toEqual({ seq: 25, hash: hex(chain.entries[24]!.hash) });
  });

  it('accepts checkpoints exactly the interval apart, and a last one less than the interval from the end', () => {
    // 0, 10, 20, then entries 21-25 with no checkpoint: 5 < 10 entries unsigned.
    expect(verifyChain({ checkpoints: without(25) })).toMatchObject({ ok: true, checkpoints: 3, lastCheckpoint: { seq: 20 } });
    // Entries 1-9 after the genesis checkpoint alone.
    expect(verifyChain({ upTo: 9, checkpoints: without(10, 20, 25) })).toMatchObject({ ok: true, checkpoints: 1, lastCheckpoint: { seq: 0 } });
  });

  it('accepts an empty log with only its genesis checkpoint', () => {
    expect(verifyChain({ upTo: 0, checkpoints: without(10, 20, 25) })).toMatchObject({ ok: true, entries: 0, checkpoints: 1, head: null, lastCheckpoint: { seq: 0 } });
  });

  it('refuses a missing genesis checkpoint, at the first checkpoint that arrives', () => {
    expect(verifyChain({ checkpoints: without(0) }).problem).toEqual({ seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' });
  });

  it('refuses a chain with no checkpoint at all (all deleted), at the end', () => {
    expect(verifyChain({ checkpoints: [] })).toMatchObject({ ok: false, checkpoints: 0, problem: { seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' } });
    // Even a short chain, well within one interval.
    expect(verifyChain({ upTo: 3, checkpoints: [] }).problem).toEqual({ seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' });
  });

  it('refuses two checkpoints more than the interval apart (one between them was deleted)', () => {
    expect(verifyChain({ checkpoints: without(10) }).problem).toEqual({
      seq: 10,
      message: 'no checkpoint between seq 0 and 20, though one is signed every 10 entries: checkpoints were deleted',
    });
    expect(verifyChain({ checkpoints: without(20) }).problem).toEqual({
      seq: 20,
      message: 'no checkpoint between seq 10 and 25, though one is signed every 10 entries: checkpoints were deleted',
    });
  });

  it('refuses a last checkpoint the interval or more from the end (the later ones were deleted)', () => {
    expect(verifyChain({ checkpoints: without(20, 25) }).problem).toEqual({
      seq: 20,
      message: 'no checkpoint after seq 10, though one is signed every 10 entries: checkpoints were deleted',
    });
    // Exactly the interval from the end is already too far: a checkpoint is signed at that entry.
    expect(verifyChain({ upTo: 20, checkpoints: without(20, 25) }).problem).toEqual({
      seq: 20,
      message: 'no checkpoint after seq 10, though one is signed every 10 entries: checkpoints were deleted',
    });
    expect(verifyChain({ upTo: 19, checkpoints: without(20, 25) }).ok).toBe(true);
  });

  it('refuses checkpoints verified with another interval than they were signed for', () => {
    for (const every of [5, 20]) {
      expect(verifyChain({ every }).problem).toEqual({
        seq: 0,
        message: "checkpoint at seq 0 has an invalid signature: forged or modified (or signed by another vault's key, or for another interval)",
      });
    }
  });

  it('refuses a genesis checkpoint signed over another hash than the genesis', () => {
    const hash = new Uint8Array(32).fill(9);
    const forged: CheckpointRow = { seq: 0, ts: T0, hash, signature: sign(chain.key, checkpointMessage(chain.vaultId, 0, hash, T0, chain.every)) };
    expect(verifyChain({ checkpoints: [forged, ...without(0)] }).problem).toEqual({
      seq: 0,
      message: 'the chain at seq 0 differs from its signed checkpoint: entries up to 0 were changed and re-hashed',
    });
  });

  it('refuses a genesis checkpoint signed by another key', () => {
    const genesis = chain.checkpoints[0]!;
    const forged: CheckpointRow = { ...genesis, signature: sign(testSigningKey(9), checkpointMessage(chain.vaultId, 0, genesis.hash, genesis.ts, chain.every)) };
    expect(verifyChain({ checkpoints: [forged, ...without(0)] }).problem?.message).toMatch(/^checkpoint at seq 0 has an invalid signature/);
  });

  it('refuses a repeated checkpoint', () => {
    const ten = chain.checkpoints[1]!;
    expect(verifyChain({ checkpoints: [chain.checkpoints[0]!, ten, ten, ...without(0, 10)] }).problem).toEqual({
      seq: 10,
      message: 'checkpoint at seq 10 repeats or precedes the one at 10',
    });
  });
});
