/** The vault's identity row and its master-wrapped vault-wide keys. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface VaultMetaRow {
  readonly vaultId: Uint8Array;
  readonly formatVersion: number;
  readonly createdAt: number;
  readonly masterProvider: string;
  readonly masterParams: string | null;
  readonly masterCheck: Uint8Array;
}

export interface VaultKeyRow {
  readonly name: string;
  readonly wrapped: Uint8Array;
  readonly createdAt: number;
}

export class MetaRepository {
  readonly #get: Statement<[], VaultMetaRow>;
  readonly #insert: Statement<[Uint8Array, number, number, string, string | null, Uint8Array]>;
  readonly #getKey: Statement<[string], VaultKeyRow>;
  readonly #insertKey: Statement<[string, Uint8Array, number]>;
  readonly #listKeys: Statement<[], VaultKeyRow>;
  readonly #updateMaster: Statement<[string, string | null, Uint8Array]>;
  readonly #updateKey: Statement<[Uint8Array, string]>;
  readonly #upgrade: Statement<[number, Uint8Array, number]>;

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare(`SELECT vault_id AS vaultId, format_version AS formatVersion, created_at AS createdAt,
      master_provider AS masterProvider, master_params AS masterParams, master_check AS masterCheck
      FROM vault_meta WHERE singleton = 1`);
    this.#insert = db.prepare(`INSERT INTO vault_meta
      (singleton, vault_id, format_version, created_at, master_provider, master_params, master_check)
      VALUES (1, ?, ?, ?, ?, ?, ?)`);
    this.#getKey = db.prepare('SELECT name, wrapped, created_at AS createdAt FROM vault_keys WHERE name = ?');
    this.#insertKey = db.prepare('INSERT INTO vault_keys (name, wrapped, created_at) VALUES (?, ?, ?)');
    this.#listKeys = db.prepare('SELECT name, wrapped, created_at AS createdAt FROM vault_keys ORDER BY name');
    this.#updateMaster = db.prepare('UPDATE vault_meta SET master_provider = ?, master_params = ?, master_check = ? WHERE singleton = 1');
    this.#updateKey = db.prepare('UPDATE vault_keys SET wrapped = ? WHERE name = ?');
    this.#upgrade = db.prepare('UPDATE vault_meta SET format_version = ?, master_check = ? WHERE singleton = 1 AND format_version = ?');
  }

  /** Moves the vault to a new format with its new master check; false if it is not at `from` any more. */
  upgradeFormat(from: number, to: number, check: Uint8Array): boolean {
    return this.#upgrade.run(to, check, from).changes === 1;
  }

  /** Records a new master key: its provider, parameters and check value. */
  updateMaster(provider: string, params: string | null, check: Uint8Array): void {
    this.#updateMaster.run(provider, params, check);
  }

  updateKey(name: string, wrapped: Uint8Array): void {
    this.#updateKey.run(wrapped, name);
  }

  get(): VaultMetaRow | undefined {
    return this.#get.get();
  }

  insert(row: VaultMetaRow): void {
    this.#insert.run(row.vaultId, row.formatVersion, row.createdAt, row.masterProvider, row.masterParams, row.masterCheck);
  }

  getKey(name: string): VaultKeyRow | undefined {
    return this.#getKey.get(name);
  }

  insertKey(row: VaultKeyRow): void {
    this.#insertKey.run(row.name, row.wrapped, row.createdAt);
  }

  listKeys(): VaultKeyRow[] {
    return this.#listKeys.all();
  }
}
