// The app's own diag logger, registered before the OpenTelemetry setup: warnings go to stdout, marked.
'use strict';
const { diag, DiagLogLevel } = require('@opentelemetry/api');

const print = (...args) => process.stdout.write(`diag warn: ${args.join(' ')}\n`);
diag.setLogger({ error: print, warn: print, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
