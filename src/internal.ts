// Internals the benchmarks measure directly (bench/*.mjs import dist/internal.js by path). Not a
// package entry point: nothing here is exported under the package name.
export { createConverter, evaluatedContext } from './convert/converter.js';
export { payloadSize } from './convert/payload-size.js';
export { createClientInstrumenter } from './instrumentation/wrap-client.js';
export { createDerivedEvents, TraceContexts } from './convert/derived-events.js';
export { PRESETS } from './convert/derived-presets.js';
export { convertLogRecords, convertSpans } from './convert/sources.js';
export { withGeneratedOptions } from './config/options-docs.js';
