/**
 * The only module that imports libsodium. Everything else asks for `sodium()` after
 * `loadSodium()` resolved (openVault does this first), so no caller can use an uninitialised
 * library.
 */
import libsodium from 'libsodium-wrappers-sumo';

export type Sodium = typeof libsodium;

let loaded = false;

/** Resolves once the WebAssembly module is ready. Safe to call many times. */
export async function loadSodium(): Promise<void> {
  if (loaded) return;
  await libsodium.ready;
  loaded = true;
}

/** The initialised library. Throws if `loadSodium()` has not resolved yet (a programming error). */
export function sodium(): Sodium {
  if (!loaded) throw new Error('libsodium used before loadSodium() resolved');
  return libsodium;
}
