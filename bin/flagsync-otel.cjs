#!/usr/bin/env node
// Checks the Node version before loading anything a newer Node needs, so an old Node gets one
// clear line instead of a SyntaxError from a dependency. Plain ES5 on purpose.
'use strict';
var required = [22, 19, 0];
var running = process.versions.node.split('.').map(Number);
for (var i = 0; i < 3; i++) {
  if (running[i] > required[i]) break;
  if (running[i] < required[i]) {
    process.stderr.write('flagsync-otel: needs Node.js >= ' + required.join('.') + ' (this is ' + process.version + ')\n');
    process.exit(1);
  }
}
import('../dist/cli/main.js');
