/**
 * Fake children for the demo: realistic shapes, obviously fake contents (example.com e-mails,
 * 138-0000 phone numbers, "Demo Road"), generated deterministically.
 */

export interface DemoChild {
  readonly subject: string;
  readonly location: { lat: number; lon: number; accuracyM: number; capturedAt: string };
  readonly contact: { phone: string; email: string; address: string };
  readonly face: { image: Uint8Array; embedding: number[]; capturedAt: string };
  readonly voice: { audio: Uint8Array; voiceprint: number[]; capturedAt: string };
}

/** Bytes that look like a JPEG (or WAV) and carry a marker the demo searches the vault file for. */
function fakeMedia(kind: 'jpeg' | 'wav', marker: string, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = 0x9e3779b9 ^ marker.length;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes.set(kind === 'jpeg' ? [0xff, 0xd8, 0xff, 0xe0] : [0x52, 0x49, 0x46, 0x46], 0);
  bytes.set(new TextEncoder().encode(marker), 16);
  return bytes;
}

export function demoChildren(count = 5): DemoChild[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const at = `2026-11-0${n}T08:30:00Z`;
    return {
      subject: `u:demo-${n}`,
      location: { lat: Number((30.2741 + n / 1000).toFixed(4)), lon: Number((120.1551 + n / 1000).toFixed(4)), accuracyM: 15, capturedAt: at },
      contact: { phone: `+861380000${String(1000 + n)}`, email: `guardian${n}@example.com`, address: `No. ${n} Demo Road, Xihu District, Hangzhou` },
      // One child has a 200 KiB photo, which is stored as a chunked stream.
      face: { image: fakeMedia('jpeg', `DEMO-FACE-${n}`, n === 1 ? 200 * 1024 : 4096), embedding: [0.12, -0.4, 0.33, n / 10], capturedAt: at },
      voice: { audio: fakeMedia('wav', `DEMO-VOICE-${n}`, 8192), voiceprint: [0.5, 0.25, -n / 10], capturedAt: at },
    };
  });
}

const toBase64 = (b: Uint8Array): { $base64: string } => ({ $base64: Buffer.from(b).toString('base64') });

/** The children as an import file (one line per subject and category). */
export function demoJsonl(children: readonly DemoChild[]): string {
  const lines: string[] = [];
  for (const c of children) {
    lines.push(JSON.stringify({ subject: c.subject, category: 'location', value: c.location }));
    lines.push(JSON.stringify({ subject: c.subject, category: 'contact', value: c.contact }));
    lines.push(JSON.stringify({ subject: c.subject, category: 'face', value: { ...c.face, image: toBase64(c.face.image) } }));
    lines.push(JSON.stringify({ subject: c.subject, category: 'voice', value: { ...c.voice, audio: toBase64(c.voice.audio) } }));
  }
  return `${lines.join('\n')}\n`;
}

/** Every plaintext fragment of the children that must never appear in the vault file. */
export function demoPlaintexts(children: readonly DemoChild[]): { label: string; bytes: Uint8Array }[] {
  const text = (s: string) => new TextEncoder().encode(s);
  return children.flatMap((c) => [
    { label: `${c.subject} phone`, bytes: text(c.contact.phone) },
    { label: `${c.subject} e-mail`, bytes: text(c.contact.email) },
    { label: `${c.subject} address`, bytes: text(c.contact.address) },
    { label: `${c.subject} latitude`, bytes: text(String(c.location.lat)) },
    { label: `${c.subject} face image`, bytes: c.face.image.subarray(0, 64) },
    { label: `${c.subject} voice clip`, bytes: c.voice.audio.subarray(0, 64) },
    { label: `${c.subject} id`, bytes: text(c.subject) },
  ]);
}
