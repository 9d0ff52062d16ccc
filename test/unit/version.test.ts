import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../../src/version.js';

describe('version.ts', () => {
  it('matches package.json, which FlagSync sees as sdkContext', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect({ PACKAGE_NAME, PACKAGE_VERSION }).toEqual({ PACKAGE_NAME: pkg.name, PACKAGE_VERSION: pkg.version });
  });
});
