/**
 * OpenTelemetry instrumentation for the FlagSync SDKs: with
 * `registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation()] })` every client
 * made by `FlagSyncFactory(...).client()` is instrumented, with no change to app code.
 */
import { createRequire } from 'node:module';
import { diag } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { checkInstrumentationOptions } from '../config/options.js';
import type { FlagSyncInstrumentationOptions } from '../types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { installSdkDeliveryGuard } from './node-sdk-delivery-guard.js';
import { makePatched, watchUnpatchedClients } from './unpatched-clients.js';
import { createClientInstrumenter, type ClientInstrumenter } from './wrap-client.js';

export interface FlagSyncInstrumentationConfig extends InstrumentationConfig, FlagSyncInstrumentationOptions {
  /**
   * Install the SDK delivery guard, so calls this package hands to a pipeline are held back from
   * the SDK's own requests until their receipt. Default `true`. With `false`, the SDK delivers
   * every call itself and the events are telemetry only (`flagsync.delivery: sdk`).
   */
  guardSdkDelivery?: boolean;
}

/** The names InstrumentationConfig and this config add to the instrumentation options. */
const CONFIG_NAMES = ['enabled', 'guardSdkDelivery'];

function checkConfig(config: FlagSyncInstrumentationConfig): void {
  checkInstrumentationOptions(config as Record<string, unknown>, 'FlagSyncInstrumentation', CONFIG_NAMES);
}

const SDK_MODULES = ['@flagsync/node-sdk', '@flagsync/js-sdk'];
/** Checked at the first enable() only: after it, the delivery guard itself has loaded the SDKs. */
let checkedLoadedBefore = false;

/**
 * A FlagSync SDK the app required before this instrumentation was first enabled: the FlagSyncFactory it got then is
 * not patched, and its clients go unrecorded. Said once per SDK, through diag and, with no diag logger registered, on
 * stderr (silenced by FLAGSYNC_QUIET=true). ES modules imported earlier cannot be seen from here.
 */
function warnIfLoadedBefore(): void {
  if (checkedLoadedBefore) return;
  checkedLoadedBefore = true;
  let cache: Record<string, unknown>;
  try {
    cache = createRequire(import.meta.url).cache;
  } catch {
    return;
  }
  const files = Object.keys(cache);
  for (const name of SDK_MODULES) {
    if (!files.some((f) => f.includes(`/node_modules/${name}/`))) continue;
    const message =
      `${name} was loaded before FlagSyncInstrumentation was enabled: clients made from the FlagSyncFactory ` +
      'imported then are not instrumented (their calls stay with the SDK). Start the OpenTelemetry setup first ' +
      '(node --require ./telemetry.cjs app.js, or --import for ES modules), before anything imports the SDK';
    diag.warn(`flagsync-otel: ${message}`);
    const registered = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[
      Symbol.for('opentelemetry.js.api.1')
    ]?.diag;
    if (registered === undefined && process.env.FLAGSYNC_QUIET !== 'true') console.warn(`flagsync-otel: ${message}`);
  }
}

type FactoryModule = { FlagSyncFactory: (config: unknown) => { client: () => object } };

export class FlagSyncInstrumentation extends InstrumentationBase<FlagSyncInstrumentationConfig> {
  private _instrumenter: ClientInstrumenter | undefined;
  /** Factories return one client instance each; wrap it once. */
  private readonly _wrappedClients = new WeakMap<object, object>();

  /** Throws on invalid options (unknown names, bad values), listing the valid names or values. */
  constructor(config: FlagSyncInstrumentationConfig = {}) {
    checkConfig(config);
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this._getInstrumenter();
  }

  /** Also checked here: `setConfig()` with a wrong option throws instead of taking it silently. */
  override setConfig(config: FlagSyncInstrumentationConfig = {}): void {
    checkConfig(config);
    super.setConfig(config);
  }

  /** Counts of span events, log events and drops (for tests and self-monitoring). */
  get recorderStats() {
    return this._getInstrumenter().stats;
  }

  override enable(): void {
    warnIfLoadedBefore();
    watchUnpatchedClients(() => this.isEnabled());
    super.enable();
    // Until the guard is in place, calls are left to the SDK (claims need a covered SDK).
    if (this.getConfig().guardSdkDelivery !== false) {
      installSdkDeliveryGuard().catch((error) => this._diag.warn('could not install the SDK delivery guard', error));
    }
  }

  // disable(): the wrapper stops recording at once. The guard stays: it still holds back the SDK's
  // copies of calls recorded before, and lets every other impression through.

  protected init() {
    return SDK_MODULES.map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          ['>=0.1.0 <1'],
          (moduleExports: FactoryModule) => this._patch(moduleExports),
          (moduleExports: FactoryModule | undefined) => {
            if (moduleExports && isWrapped(moduleExports.FlagSyncFactory))
              this._unwrap(moduleExports, 'FlagSyncFactory');
          },
        ),
    );
  }

  private _patch(moduleExports: FactoryModule): FactoryModule {
    if (isWrapped(moduleExports.FlagSyncFactory)) this._unwrap(moduleExports, 'FlagSyncFactory');
    const descriptor = Object.getOwnPropertyDescriptor(moduleExports, 'FlagSyncFactory');
    if (!descriptor || descriptor.configurable || descriptor.writable || descriptor.set) {
      this._wrap(moduleExports, 'FlagSyncFactory', (original) => this._patchFactory(original));
      return moduleExports;
    }
    // The SDKs' CommonJS builds export non-configurable getters (esbuild), which cannot be
    // redefined: hand require-in-the-middle a copy of the exports instead.
    return { ...moduleExports, FlagSyncFactory: this._patchFactory(moduleExports.FlagSyncFactory) };
  }

  private _patchFactory(original: FactoryModule['FlagSyncFactory']): FactoryModule['FlagSyncFactory'] {
    const instrumentation = this;
    return function patchedFlagSyncFactory(this: unknown, config: unknown) {
      const factory = makePatched(() => original.call(this, config));
      // Checked per factory call too: a copied exports object cannot be unwrapped on disable().
      if (!instrumentation.isEnabled()) return factory;
      const client = factory.client;
      return { ...factory, client: () => instrumentation._wrapClient(client.call(factory)) };
    };
  }

  private _wrapClient(client: object): object {
    let wrapped = this._wrappedClients.get(client);
    if (!wrapped) {
      wrapped = this._getInstrumenter().wrap(client);
      this._wrappedClients.set(client, wrapped);
    }
    return wrapped;
  }

  private _getInstrumenter(): ClientInstrumenter {
    this._instrumenter ??= createClientInstrumenter(
      () => this.getConfig(),
      () => this.isEnabled(),
    );
    return this._instrumenter;
  }
}
