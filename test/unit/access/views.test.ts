import { describe, expect, it } from 'vitest';
import { applyView } from '../../../src/access/views.js';

describe('applyView', () => {
  it('returns the value untouched for the full view', () => {
    const v = { phone: '+8613800138000' };
    expect(applyView('contact', 'full', v, 0.1)).toBe(v);
  });

  it('masks phones (country code and last four digits), e-mails (first letter and domain) and addresses (last part)', () => {
    expect(applyView('contact', 'masked', { phone: '+8613800138000', email: 'parent@example.com', address: 'No. 1 Road, Xihu, Hangzhou' }, 0.1)).toEqual({
      phone: '+86*******8000',
      email: 'p***@example.com',
      address: 'Hangzhou',
    });
    expect(applyView('contact', 'masked', { phone: '+123456' }, 0.1)).toEqual({ phone: '+******' });
    expect(applyView('contact', 'masked', { email: 'nobody' }, 0.1)).toEqual({ email: '***' });
    expect(applyView('contact', 'masked', { address: 'Hangzhou' }, 0.1)).toEqual({ address: '***' });
  });

  it('hides an address it cannot reduce with confidence instead of showing it whole', () => {
    expect(applyView('contact', 'masked', { address: '浙江省杭州市西湖区文一西路969号3幢2单元501室' }, 0.1)).toEqual({ address: '***' });
    expect(applyView('contact', 'masked', { address: '12 Demo Road Hangzhou 310000' }, 0.1)).toEqual({ address: '***' });
    expect(applyView('contact', 'masked', { address: '文一西路969号，西湖区，杭州市' }, 0.1)).toEqual({ address: '杭州市' });
    expect(applyView('contact', 'masked', { address: 'Road 1, a very long last part that is surely not a city name at all' }, 0.1)).toEqual({ address: '***' });
  });

  it('never lets a masked value contain the full phone or e-mail', () => {
    const masked = JSON.stringify(applyView('contact', 'masked', { phone: '+8613912345678', email: 'a.long.name@example.org' }, 0.1));
    expect(masked).not.toContain('13912345678');
    expect(masked).not.toContain('a.long.name');
  });

  it('rounds a location to the policy precision and widens its accuracy to match', () => {
    expect(applyView('location', 'coarse', { lat: 30.27412, lon: 120.15519, accuracyM: 8, capturedAt: 't' }, 0.1)).toEqual({ lat: 30.3, lon: 120.2, accuracyM: 5566, capturedAt: 't' });
    expect(applyView('location', 'coarse', { lat: -33.8688, lon: 151.2093, capturedAt: 't' }, 1)).toEqual({ lat: -34, lon: 151, accuracyM: 55660, capturedAt: 't' });
  });

  it('refuses a restricted view on a category it does not apply to (fail closed)', () => {
    expect(() => applyView('face', 'masked', { embedding: [1] }, 0.1)).toThrow(/does not apply/);
    expect(() => applyView('contact', 'coarse', { phone: '+8613800138000' }, 0.1)).toThrow(/does not apply/);
  });
});
