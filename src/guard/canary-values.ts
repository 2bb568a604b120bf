/**
 * Fake, realistic minor records for canaries: a mainland mobile number, a webmail address, a
 * Hangzhou street address and a small JPEG-shaped photo, all random. They are stored (and blind
 * indexed) like any child's, so a canary value found outside the vault proves a leak.
 */
import { randomBytes } from '../crypto/random.js';

const MOBILE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '155', '157', '158', '159', '166', '176', '177', '178', '180', '181', '182', '185', '186', '187', '188', '189', '198', '199'];
const SYLLABLES = ['an', 'bo', 'chen', 'fei', 'hao', 'jia', 'jun', 'lei', 'li', 'ming', 'na', 'qi', 'rui', 'shu', 'tian', 'wei', 'xin', 'yan', 'yi', 'yu', 'zhe', 'zi'];
const MAIL_DOMAINS = ['qq.com', '163.com', '126.com', 'sina.com', 'foxmail.com'];
const STREETS = ['文三路', '教工路', '天目山路', '莫干山路', '学院路', '古墩路', '凤起路', '庆春路'];
const DISTRICTS = ['西湖区', '拱墅区', '上城区', '滨江区'];

/** A uniform integer in [0, n), from the OS CSPRNG (canaries must not be predictable). */
function pick(n: number): number {
  return Buffer.from(randomBytes(4)).readUInt32BE(0) % n;
}

function choose<T>(list: readonly T[]): T {
  const item = list[pick(list.length)];
  if (item === undefined) throw new Error('choose from an empty list');
  return item;
}
const digits = (n: number): string => Array.from({ length: n }, () => String(pick(10))).join('');

export interface CanaryValues {
  readonly subject: string;
  readonly contact: { readonly phone: string; readonly email: string; readonly address: string };
  readonly face: { readonly image: Uint8Array; readonly capturedAt: string };
}

/** `emailDomain`: a domain the operator controls, so a canary address can be no real person's. */
export function canaryValues(now: Date, emailDomain?: string): CanaryValues {
  const name = `${choose(SYLLABLES)}${choose(SYLLABLES)}${choose(SYLLABLES)}`;
  // JPEG SOI + JFIF APP0 header, random body, EOI: looks like a photo to anything sniffing bytes.
  const body = randomBytes(2048 + pick(2048));
  const image = new Uint8Array(20 + body.length + 2);
  image.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  image.set(body, 20);
  image.set([0xff, 0xd9], 20 + body.length);
  return {
    subject: `u:${digits(16)}`, // 53 bits: drawn again in the unlikely case a child has it
    contact: {
      phone: `+86${choose(MOBILE_PREFIXES)}${digits(8)}`,
      email: `${name}${digits(4)}@${emailDomain ?? choose(MAIL_DOMAINS)}`,
      address: `浙江省杭州市${choose(DISTRICTS)}${choose(STREETS)}${1 + pick(300)}号${1 + pick(30)}幢${100 + pick(1500)}室`,
    },
    face: { image, capturedAt: now.toISOString() },
  };
}
