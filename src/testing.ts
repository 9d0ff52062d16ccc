// Node entry point for tests and offline trials: a local FlagSync stand-in (the track API with
// strict validation, the flag routes of both SDKs, fault injection). Not for production.
export { startStandIn, STANDIN_DEFAULT_SDK_KEY } from './standin/server.js';
export type { Fault, ReceivedBatch, Rejection, StandIn, StandInOptions } from './standin/server.js';
export { STANDIN_FLAGS } from './standin/flags.js';
export type { FlagDef, VariantDef } from './standin/flags.js';
