import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveContextPrivacy } from '../../src/instrumentation/privacy.js';
import { sha256Hex } from '../../src/instrumentation/sha256.js';

describe('sha256Hex', () => {
  it.each(['', 'abc', 'user-123', 'ünïcødé 🚀', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'x'.repeat(1000)])('matches node:crypto for %j', (text) => {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });
});

describe('context privacy', () => {
  const attributes = { email: 'a@b.c', plan: 'pro', country: 'NO' };

  it('passes everything through by default', () => {
    const privacy = resolveContextPrivacy({});
    expect(privacy.mapKey('u1')).toBe('u1');
    expect(privacy.filterAttributes(attributes)).toBe(attributes);
    expect(privacy.filterAttributes(undefined)).toBeUndefined();
  });

  it('applies allow then deny lists', () => {
    expect(resolveContextPrivacy({ contextAttributes: { allow: ['plan', 'email'] } }).filterAttributes(attributes)).toEqual({ email: 'a@b.c', plan: 'pro' });
    expect(resolveContextPrivacy({ contextAttributes: { deny: ['email'] } }).filterAttributes(attributes)).toEqual({ plan: 'pro', country: 'NO' });
    expect(resolveContextPrivacy({ contextAttributes: { allow: ['plan', 'email'], deny: ['email'] } }).filterAttributes(attributes)).toEqual({ plan: 'pro' });
  });

  it('hashes keys: plain, salted or custom', () => {
    expect(resolveContextPrivacy({ hashContextKey: true }).mapKey('u1')).toBe(createHash('sha256').update('u1').digest('hex'));
    expect(resolveContextPrivacy({ hashContextKey: { salt: 's3' } }).mapKey('u1')).toBe(createHash('sha256').update('s3u1').digest('hex'));
    expect(resolveContextPrivacy({ hashContextKey: (k) => `x-${k}` }).mapKey('u1')).toBe('x-u1');
  });
});
