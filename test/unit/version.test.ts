import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../../src/version.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as { name: string; version: string };

describe('versions FlagSync sees as sdkContext', () => {
  it('version.ts matches package.json', () => {
    expect({ PACKAGE_NAME, PACKAGE_VERSION }).toEqual({ PACKAGE_NAME: pkg.name, PACKAGE_VERSION: pkg.version });
  });

  it('the Go component names the same package and version, and the builder manifest asks for that version', () => {
    const client = read('collector/flagsyncexporter/client.go');
    expect(/const version = "([^"]+)"/.exec(client)?.[1]).toBe(pkg.version);
    expect(client).toContain(`"sdkName":"${pkg.name}"`);
    expect(read('collector/manifest.yaml')).toContain(`collector/flagsyncexporter v${pkg.version}`);
  });
});
