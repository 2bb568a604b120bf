import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { assertNoMinorData, describeMatch, findMinorData, MAX_GUARD_DEPTH, type GuardFinding, type GuardWarning } from '../../../src/guard/assert-no-minor-data.js';
import type { LeakMatch, LeakMatcher } from '../../../src/guard/leak-types.js';
import { Sensitive } from '../../../src/guard/sensitive.js';
import { testMatcher } from '../../helpers/leak-matcher.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

// A stored child's values, a canary's, and an adult's (not in the index).
const CHILD_PHONE = '+8613800138000';
const CHILD_EMAIL = 'xiaoming2015@qq.com';
const CHILD_ADDRESS = '12 Elm Street, Apt 3, Springfield';
const CANARY_PHONE = '+8613912345678';
const ADULT_PHONE = '+8613700001111';
const ADULT_EMAIL = 'parent.wang@example.com';
const FACE = jpeg(0x11);
const CANARY_FACE = jpeg(0x22);
const ADULT_PHOTO = jpeg(0x33);

/** Written forms of CHILD_PHONE that must all be recognised. */
const PHONE_FORMS = ['+8613800138000', '+86 138 0013 8000', '+86-138-0013-8000', '(+86) 138 0013 8000', '0086 138 0013 8000', '13800138000', '138 0013 8000'];
/** What must never appear in a message. */
const SECRETS = ['13800138000', '138 0013', '0013 8000', 'xiaoming', 'qq.com', 'Elm', '13912345678'];

function jpeg(fill: number): Uint8Array {
  const b = new Uint8Array(64).fill(fill);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

/** The real blind-index matcher over the child's and the canary's values. */
const matcher = testMatcher({ phones: [CHILD_PHONE], emails: [CHILD_EMAIL], addresses: [CHILD_ADDRESS], faces: [FACE], canary: { phones: [CANARY_PHONE], faces: [CANARY_FACE] } });
const PHONE_MATCH: LeakMatch = { kind: 'subject-data', field: 'contact.phone' };

function refusals(value: unknown): GuardFinding[] {
  return findMinorData(value, matcher).refusals;
}

function paths(value: unknown): string[] {
  return refusals(value).map((f) => f.path);
}

function expectClean(value: unknown): void {
  expect(refusals(value)).toEqual([]);
}

function expectNoSecrets(message: string): void {
  for (const secret of SECRETS) expect(message).not.toContain(secret);
}

describe('describeMatch', () => {
  it('names the kind and the field, category or pattern', () => {
    expect(describeMatch({ kind: 'subject-data', field: 'contact.phone' })).toBe("a stored child's contact.phone");
    expect(describeMatch({ kind: 'canary', field: 'face.image' })).toBe("a canary's face.image");
    expect(describeMatch({ kind: 'sensitive', category: 'location' })).toBe('a Sensitive location value');
    expect(describeMatch({ kind: 'pattern', pattern: 'phone' })).toBe('pattern: phone');
    expect(describeMatch({ kind: 'too-deep', limit: 64 })).toContain('too deep to check');
  });
});

describe('findMinorData: strings', () => {
  it.each(PHONE_FORMS)('finds the child phone written as %j', (form) => {
    expect(refusals({ phone: form })).toEqual([{ path: '$.phone', match: PHONE_MATCH }]);
  });

  it('finds a phone inside free text', () => {
    expect(paths({ note: 'call me at +86 138 0013 8000 after school' })).toEqual(['$.note']);
  });

  it('finds e-mail whatever its case, and an address whatever its punctuation', () => {
    expect(refusals({ email: 'XiaoMing2015@QQ.com' })).toEqual([{ path: '$.email', match: { kind: 'subject-data', field: 'contact.email' } }]);
    expect(refusals({ text: `write to ${CHILD_EMAIL.toUpperCase()}.` })[0]?.match).toEqual({ kind: 'subject-data', field: 'contact.email' });
    expect(refusals({ home: '12 elm street apt 3 springfield' })[0]?.match).toEqual({ kind: 'subject-data', field: 'contact.address' });
  });

  it('finds a top-level string', () => {
    expect(paths(CHILD_PHONE)).toEqual(['$']);
  });

  it('finds face bytes written as base64', () => {
    expect(refusals({ photo: Buffer.from(FACE).toString('base64') })[0]).toEqual({ path: '$.photo', match: { kind: 'subject-data', field: 'face.image' } });
  });

  it("passes adults' contacts and ordinary text", () => {
    expectClean({ phone: ADULT_PHONE, email: ADULT_EMAIL, note: 'meeting on 2024-05-01, v1.2.3, ¥12.50', id: '550e8400-e29b-41d4-a716-446655440000' });
    expectClean(['call +86 137 0000 1111', 'hello', '', ' ']);
  });
});

describe('findMinorData: JSON in strings', () => {
  it('walks JSON written in a string, with <json> in the path', () => {
    const payload = JSON.stringify({ child: { phone: '138-0013-8000' } });
    expect(paths({ payload })).toEqual(['$.payload<json>.child.phone']);
  });

  it('walks JSON inside JSON', () => {
    const inner = JSON.stringify({ phone: CHILD_PHONE });
    const outer = JSON.stringify({ inner, list: [1, 2] });
    expect(paths({ payload: outer })).toEqual(['$.payload<json>.inner<json>.phone']);
  });

  it('finds what only parsing reveals: escaped characters and whole-field addresses', () => {
    const escaped = '{"phone":"\\u002b8613800138000"}';
    expect(paths({ escaped })).toEqual(['$.escaped<json>.phone']);
    expect(paths({ doc: JSON.stringify([{ home: CHILD_ADDRESS }]) })).toEqual(['$.doc<json>[0].home']);
  });

  it('treats text that only looks like JSON as text', () => {
    expect(paths({ log: '[INFO] call +86 138 0013 8000' })).toEqual(['$.log']);
    expectClean({ log: '[INFO] {not json} 2024-05-01' });
  });

  it('passes clean JSON', () => {
    expectClean({ payload: JSON.stringify({ phone: ADULT_PHONE, list: [{ email: ADULT_EMAIL }] }) });
  });

  it('matches the raw text too: a value hidden behind a duplicate key (JSON.parse keeps the last) is found', () => {
    // Issue 9: the parsed form is {"p":null}; a reader that keeps the first duplicate gets the phone.
    expect(paths('{"p":"+8613912345678","p":null}')).toEqual(['$']);
    expect(refusals('{"p":"+8613912345678","p":null}')[0]?.match).toEqual({ kind: 'canary', field: 'contact.phone' });
    expect(paths({ log: `{"m":"${CHILD_EMAIL}","m":"ok"}` })).toEqual(['$.log']);
    expect(paths(JSON.stringify({ inner: `[{"p":${CHILD_PHONE.slice(1)},"p":0}]` }))).toEqual(['$<json>.inner']);
    const error = expectVaultError(() => {
      assertNoMinorData('{"p":"+8613912345678","p":null}', matcher, { where: 'log line' });
    }, 'PLAINTEXT_LEAK');
    expectNoSecrets(error.message);
  });

  it('reports a value once when the parsed form already found it (no second raw-text finding, no second lookup)', () => {
    const counting = testMatcher({ phones: [CHILD_PHONE] });
    const found = findMinorData(JSON.stringify({ a: { phone: CHILD_PHONE } }), counting).refusals;
    expect(found.map((f) => f.path)).toEqual(['$<json>.a.phone']);
    expect(counting.calls.text).toBe(3); // the key "a", the key "phone", the phone: not the raw text
  });
});

describe('findMinorData: containers', () => {
  it('names nested object and array paths', () => {
    const value = { user: { contacts: [{ phone: ADULT_PHONE }, { email: ADULT_EMAIL }, { phone: CHILD_PHONE }] } };
    expect(paths(value)).toEqual(['$.user.contacts[2].phone']);
  });

  it('finds Map keys and values by index, never naming the key', () => {
    const m = new Map<unknown, unknown>([
      ['a', 1],
      [CHILD_PHONE, 'x'],
      ['b', { email: CHILD_EMAIL }],
    ]);
    expect(paths({ m })).toEqual(['$.m<key 1>', '$.m<value 2>.email']);
    expectClean({ m: new Map([['adult', ADULT_PHONE]]) });
  });

  it('finds Set items', () => {
    expect(paths({ s: new Set(['a', CHILD_PHONE]) })).toEqual(['$.s<item 1>']);
    expectClean({ s: new Set(['a', ADULT_PHONE]) });
  });

  it('matches object keys, and names a key in a path only when it is a harmless identifier', () => {
    const value = { [CHILD_PHONE]: 'mum', 'first name': CHILD_EMAIL, ok: 1 };
    expect(paths(value)).toEqual(['$<key 0>', '$["<key 1>"]']);
    expectClean({ [ADULT_PHONE]: 'x', 'first name': 'Wang' });
  });

  it('reads a class instance, a String object and an Error (message and cause)', () => {
    class Row {
      constructor(readonly phone: string) {}
    }
    expect(paths({ row: new Row(CHILD_PHONE) })).toEqual(['$.row.phone']);
    expect(paths({ boxed: new String(CHILD_PHONE) })).toEqual(['$.boxed']);
    const error = new Error(`bad number ${CHILD_PHONE}`, { cause: { email: CHILD_EMAIL } });
    expect(paths({ error })).toEqual(['$.error.message', '$.error.cause.email']);
    expectClean({ error: new Error('timeout'), when: new Date(0), re: /x/ });
  });

  it('walks what toJSON would write for an object that hides its data', () => {
    class Child {
      readonly #phone = CHILD_PHONE;
      toJSON(): unknown {
        return { phone: this.#phone };
      }
    }
    expect(paths({ c: new Child() })).toEqual(['$.c<toJSON>.phone']);
  });

  it('finds integers that read as a phone number, and ignores other numbers', () => {
    expect(paths({ n: 13800138000, big: 13800138000n, intl: 8613800138000 })).toEqual(['$.n', '$.big', '$.intl']);
    expectClean({ ts: 1717171717171, id: 42, price: 12.5, s: 1717171717, b: true, u: undefined, z: null, adult: 13700001111 });
  });
});

describe('findMinorData: bytes', () => {
  it.each([
    ['Buffer', (b: Uint8Array): unknown => Buffer.from(b)],
    ['Uint8Array', (b: Uint8Array): unknown => new Uint8Array(b)],
    ['ArrayBuffer', (b: Uint8Array): unknown => new Uint8Array(b).buffer],
    ['DataView', (b: Uint8Array): unknown => new DataView(new Uint8Array(b).buffer)],
    ['subarray', (b: Uint8Array): unknown => new Uint8Array([9, 9, ...b, 9]).subarray(2, 2 + b.length)],
  ])('finds face bytes in a %s', (_name, wrap) => {
    expect(refusals({ photo: wrap(FACE) })).toEqual([{ path: '$.photo', match: { kind: 'subject-data', field: 'face.image' } }]);
    expectClean({ photo: wrap(ADULT_PHOTO) });
  });

  it('matches UTF-8 bytes as text too', () => {
    expect(paths({ body: Buffer.from(JSON.stringify({ phone: CHILD_PHONE })) })).toEqual(['$.body<utf8><json>.phone']);
    expectClean({ body: Buffer.from(JSON.stringify({ phone: ADULT_PHONE })) });
  });
});

describe('findMinorData: Sensitive values and canaries', () => {
  it('refuses a Sensitive anywhere, without looking inside', () => {
    const s = new Sensitive({ phone: ADULT_PHONE }, 'contact');
    const reveal = vi.spyOn(s, 'reveal');
    expect(refusals(s)).toEqual([{ path: '$', match: { kind: 'sensitive', category: 'contact' } }]);
    expect(paths({ a: [1, { b: s }], m: new Map([['k', s]]), set: new Set([new Sensitive(undefined, 'location', 'presence')]) })).toEqual([
      '$.a[1].b',
      '$.m<value 0>',
      '$.set<item 0>',
    ]);
    expect(reveal).not.toHaveBeenCalled();
  });

  it('recognises a Sensitive from another copy of the package by its brand, and never echoes a strange category', () => {
    const foreign = { [Symbol.for('childvault.sensitive')]: true, category: CHILD_PHONE };
    expect(refusals({ foreign })).toEqual([{ path: '$.foreign', match: { kind: 'sensitive', category: 'unknown' } }]);
  });

  it("refuses a canary's phone and photo", () => {
    expect(refusals({ p: '+86 139 1234 5678', f: CANARY_FACE })).toEqual([
      { path: '$.p', match: { kind: 'canary', field: 'contact.phone' } },
      { path: '$.f', match: { kind: 'canary', field: 'face.image' } },
    ]);
  });
});

describe('findMinorData: hostile shapes', () => {
  it('visits a cycle once', () => {
    const a: Record<string, unknown> = { phone: CHILD_PHONE };
    a['self'] = a;
    const m = new Map<string, unknown>();
    m.set('m', m);
    expect(paths({ a, m })).toEqual(['$.a.phone']);
  });

  it(`walks ${MAX_GUARD_DEPTH} levels and refuses anything deeper (fail closed)`, () => {
    const nest = (levels: number, leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 1; i < levels; i++) v = { v };
      return v;
    };
    expect(refusals(nest(MAX_GUARD_DEPTH, { phone: CHILD_PHONE }))[0]?.match).toEqual(PHONE_MATCH);
    expectClean(nest(MAX_GUARD_DEPTH, { ok: 1 }));
    const deep = refusals(nest(5000, { ok: 1 }));
    expect(deep).toHaveLength(1);
    expect(deep[0]?.match).toEqual({ kind: 'too-deep', limit: MAX_GUARD_DEPTH });
    const error = expectVaultError(() => {
      assertNoMinorData(nest(200, 'x'), matcher);
    }, 'PLAINTEXT_LEAK');
    expect(error.message).toContain('too deep to check');
  });

  it('skips a throwing getter and keeps walking', () => {
    const value = {
      get broken(): string {
        throw new Error('no');
      },
      phone: CHILD_PHONE,
    };
    expect(paths(value)).toEqual(['$.phone']);
    expectClean({
      get broken(): string {
        throw new Error(CHILD_PHONE);
      },
    });
  });

  it('survives proxies with throwing traps and revoked proxies', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no');
        },
      },
    );
    const { proxy, revoke } = Proxy.revocable({ phone: CHILD_PHONE }, {});
    revoke();
    expect(paths({ hostile, proxy, phone: CHILD_PHONE })).toEqual(['$.phone']);
  });

  it("lets the matcher's failures surface (fail closed)", () => {
    const failing: LeakMatcher = {
      matchText: () => {
        throw new Error('index closed');
      },
      matchBytes: () => [],
    };
    expect(() => findMinorData({ a: 'x' }, failing)).toThrow('index closed');
  });

  it('checks a value shared by two paths once', () => {
    const shared = { phone: CHILD_PHONE };
    expect(paths({ a: shared, b: shared })).toEqual(['$.a.phone']);
  });
});

describe('findMinorData: patterns', () => {
  it('warns (never refuses) on pattern matches only when asked', () => {
    const value = { phone: ADULT_PHONE, mail: ADULT_EMAIL, at: '30.274085, 120.15507', photo: ADULT_PHOTO };
    expect(findMinorData(value, matcher)).toEqual({ refusals: [], warnings: [] });
    const found = findMinorData(value, matcher, { patterns: true });
    expect(found.refusals).toEqual([]);
    expect(found.warnings).toEqual([
      { path: '$.phone', match: { kind: 'pattern', pattern: 'phone' } },
      { path: '$.mail', match: { kind: 'pattern', pattern: 'email' } },
      { path: '$.at', match: { kind: 'pattern', pattern: 'coordinates' } },
      { path: '$.photo', match: { kind: 'pattern', pattern: 'image' } },
    ]);
  });
});

describe('assertNoMinorData', () => {
  it('names the first refusal, the count of the others and the channel, never a value', () => {
    const value = { user: { phone: '+86 138 0013 8000', email: CHILD_EMAIL, home: CHILD_ADDRESS } };
    const error = expectVaultError(() => {
      assertNoMinorData(value, matcher, { where: 'audit webhook' });
    }, 'PLAINTEXT_LEAK');
    expect(error.message).toBe("audit webhook: minor data at $.user.phone (a stored child's contact.phone); 2 more findings");
    expect(error.field).toBe('$.user.phone');
    expectNoSecrets(error.message);
  });

  it('has a default channel name and no count for a single finding', () => {
    const error = expectVaultError(() => {
      assertNoMinorData([new Sensitive('x', 'location')], matcher);
    }, 'PLAINTEXT_LEAK');
    expect(error.message).toBe('leak guard: minor data at $[0] (a Sensitive location value)');
  });

  it('keeps messages free of values planted in keys, JSON and free text', () => {
    const value = { [CHILD_PHONE]: 1, log: `user ${CHILD_EMAIL} called from 138 0013 8000`, body: JSON.stringify({ n: CHILD_PHONE }) };
    const error = expectVaultError(() => {
      assertNoMinorData(value, matcher);
    }, 'PLAINTEXT_LEAK');
    expectNoSecrets(error.message);
    expectNoSecrets(error.field ?? '');
  });

  it('passes clean data and reports pattern warnings through onWarning, with the channel', () => {
    const warnings: GuardWarning[] = [];
    assertNoMinorData({ phone: ADULT_PHONE }, matcher, { where: 'log line', patterns: true, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([{ path: '$.phone', match: { kind: 'pattern', pattern: 'phone' }, where: 'log line' }]);
    const none: GuardWarning[] = [];
    assertNoMinorData({ phone: ADULT_PHONE }, matcher, { onWarning: (w) => none.push(w) });
    expect(none).toEqual([]);
  });

  it('delivers warnings before refusing', () => {
    const onWarning = vi.fn();
    expectVaultError(() => {
      assertNoMinorData({ a: ADULT_PHONE, b: CHILD_PHONE }, matcher, { patterns: true, onWarning });
    }, 'PLAINTEXT_LEAK');
    expect(onWarning).toHaveBeenCalled();
  });
});

// ---- property tests ----

/** JSON-like values, plus the other containers the walk knows. */
const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 16 }),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
  ),
})).value;

/** The child's phone in one of the ways it can be written into a value. */
const plantedArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...PHONE_FORMS),
  fc.constantFrom(...PHONE_FORMS).map((form) => `note: call ${form} today`),
  fc.constantFrom(...PHONE_FORMS).map((form) => JSON.stringify({ contact: { phone: form } })),
  fc.constantFrom(...PHONE_FORMS).map((form) => Buffer.from(form)),
  fc.constant(13800138000),
);

/** `value` with `planted` inserted at the place `choices` steer to. */
function plant(value: unknown, planted: unknown, choices: readonly number[], at = 0): unknown {
  const c = choices[at] ?? 0;
  const here = c % 3 === 0;
  if (Array.isArray(value)) {
    const copy: unknown[] = (value as unknown[]).slice();
    if (here || copy.length === 0) copy.splice(c % (copy.length + 1), 0, planted);
    else copy[c % copy.length] = plant(copy[c % copy.length], planted, choices, at + 1);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map(value as Map<unknown, unknown>);
    const keys = [...copy.keys()];
    const key = keys[c % Math.max(1, keys.length)];
    if (here || key === undefined) copy.set(c % 2 === 0 ? `planted-${at}` : planted, c % 2 === 0 ? planted : 'x');
    else copy.set(key, plant(copy.get(key), planted, choices, at + 1));
    return copy;
  }
  if (value instanceof Set) return new Set([...(value as Set<unknown>), planted]);
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    const copy = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const key = keys[c % Math.max(1, keys.length)];
    if (here || key === undefined) copy[`planted${at}`] = planted;
    else copy[key] = plant(copy[key], planted, choices, at + 1);
    return copy;
  }
  return at % 2 === 0 ? planted : [value, planted]; // a leaf: replace it, or pair it
}

describe('findMinorData: properties', () => {
  it('always finds a child phone planted anywhere in a random value', () => {
    fc.assert(
      fc.property(valueArb, plantedArb, fc.array(fc.nat(), { maxLength: 8 }), (value, planted, choices) => {
        const found = findMinorData(plant(value, planted, choices), matcher).refusals;
        expect(found.some((f) => f.match.kind === 'subject-data' && f.match.field === 'contact.phone')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never refuses a random value without planted data', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        expect(findMinorData(value, matcher).refusals).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
