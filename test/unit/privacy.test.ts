import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveContextPrivacy, sha256Hex } from '../../src/instrumentation/privacy.js';

describe('sha256Hex', () => {
  it.each(['', 'abc', 'user-123', 'ünïcødé 🚀', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'x'.repeat(1000)])(
    'matches node:crypto for %j',
    (text) => {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    },
  );
});

describe('context privacy', () => {
  const attributes = { email: 'a@b.c', plan: 'pro', country: 'NO' };

  it('passes everything through by default', () => {
    const privacy = resolveContextPrivacy({});
    expect(privacy.identity).toBe(true);
    expect(privacy.mapKey('u1')).toBe('u1');
    expect(privacy.applyToContext({ key: 'u1', attributes })).toEqual({ key: 'u1', attributes });
  });

  it('applies allow then deny lists, to attributes and to fields beside the key, keeping field order', () => {
    const filter = (contextAttributes: { allow?: string[]; deny?: string[] }, context: Record<string, unknown>) =>
      JSON.stringify(resolveContextPrivacy({ contextAttributes }).applyToContext(context));
    expect(filter({ allow: ['plan', 'email'] }, { key: 'u', attributes })).toBe(
      '{"key":"u","attributes":{"email":"a@b.c","plan":"pro"}}',
    );
    expect(filter({ deny: ['email'] }, { key: 'u', attributes })).toBe(
      '{"key":"u","attributes":{"plan":"pro","country":"NO"}}',
    );
    expect(filter({ allow: ['plan', 'email'], deny: ['email'] }, { key: 'u', attributes })).toBe(
      '{"key":"u","attributes":{"plan":"pro"}}',
    );
    expect(filter({ deny: ['email'] }, { email: 'x@y.z', kind: 'user', key: 'u' })).toBe('{"kind":"user","key":"u"}');
    expect(resolveContextPrivacy({ contextAttributes: { deny: ['email'] } }).identity).toBe(false);
  });

  it('maps the key inside the context too', () => {
    const privacy = resolveContextPrivacy({ hashContextKey: (k) => `h(${k})` });
    expect(privacy.identity).toBe(false);
    expect(privacy.applyToContext({ key: 'u1', attributes: { plan: 'pro' } })).toEqual({
      key: 'h(u1)',
      attributes: { plan: 'pro' },
    });
  });

  it('hashes keys: plain, salted or custom', () => {
    expect(resolveContextPrivacy({ hashContextKey: true }).mapKey('u1')).toBe(
      createHash('sha256').update('u1').digest('hex'),
    );
    expect(resolveContextPrivacy({ hashContextKey: { salt: 's3' } }).mapKey('u1')).toBe(
      createHash('sha256').update('s3u1').digest('hex'),
    );
    expect(resolveContextPrivacy({ hashContextKey: (k) => `x-${k}` }).mapKey('u1')).toBe('x-u1');
  });
});
