/**
 * What the leak guards and the scanner report. A finding names where and what kind of minor data
 * was found — never the value, and never whose it is: the blind index answers "is this a stored
 * child's phone number?", not "whose number is this?" (the court case forbids finding children
 * by phone number).
 */

/** Blind-indexed fields: the contact fields and the face/voice blobs. */
export type IndexedField = 'contact.phone' | 'contact.email' | 'contact.address' | 'face.image' | 'voice.audio';

/** Opt-in pattern detectors: they also match adults' data, so they warn rather than refuse. */
export type PatternName = 'phone' | 'email' | 'coordinates' | 'image' | 'audio';

export type LeakMatch =
  /** A value read from the vault (`Sensitive`), about to go elsewhere. */
  | { readonly kind: 'sensitive'; readonly category: string }
  /** Equal (after normalisation) to a stored child's value: its blind index matched. */
  | { readonly kind: 'subject-data'; readonly field: IndexedField }
  /** Equal to a canary's value: proof of a leak, since no legitimate flow reads canaries. */
  | { readonly kind: 'canary'; readonly field: IndexedField }
  /** Looks like minor data (phone, e-mail, coordinates, image or audio bytes); could be an adult's. */
  | { readonly kind: 'pattern'; readonly pattern: PatternName };

/**
 * Answers, for one string or byte array found outside the vault, which stored children's values
 * (or canaries) it contains. Implemented by the vault over its blind index (src/guard/blind-index.ts).
 */
export interface LeakMatcher {
  /**
   * Blind-index matches of a string: the whole string (as an e-mail, a phone number, an address)
   * and the phone numbers and e-mail addresses written inside it. Base64 (and data: URLs) of face
   * or voice bytes are decoded and matched as bytes.
   */
  matchText(text: string): LeakMatch[];
  /** Blind-index matches of raw bytes (a face image or voice clip stored elsewhere). */
  matchBytes(bytes: Uint8Array): LeakMatch[];
}
