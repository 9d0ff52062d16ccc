// Node entry point: the local FlagSync stand-in, for tests and offline trials.
export { startStandIn, STANDIN_DEFAULT_SDK_KEY } from './standin/server.js';
export type { Fault, ReceivedBatch, Rejection, StandIn, StandInOptions } from './standin/server.js';
export { STANDIN_FLAGS } from './standin/flags.js';
export type { FlagDef, VariantDef } from './standin/flags.js';
