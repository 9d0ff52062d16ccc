/**
 * OpenTelemetry instrumentation for the FlagSync SDKs: with
 * `registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation()] })` every client
 * made by `FlagSyncFactory(...).client()` is instrumented, with no change to app code.
 */
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import type { FlagSyncInstrumentationOptions } from '../types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { installSdkDeliveryGuard } from './node-sdk-delivery-guard.js';
import { createClientInstrumenter, type ClientInstrumenter } from './wrap-client.js';

export interface FlagSyncInstrumentationConfig extends InstrumentationConfig, FlagSyncInstrumentationOptions {
  /**
   * Install the SDK delivery guard, so calls this package hands to a pipeline are held back from
   * the SDK's own requests until their receipt. Default `true`. With `false`, the SDK delivers
   * every call itself and the events are telemetry only (`flagsync.delivery: sdk`).
   */
  guardSdkDelivery?: boolean;
}

type FactoryModule = { FlagSyncFactory: (config: unknown) => { client: () => object } };

export class FlagSyncInstrumentation extends InstrumentationBase<FlagSyncInstrumentationConfig> {
  private _instrumenter: ClientInstrumenter | undefined;
  /** Factories return one client instance each; wrap it once. */
  private readonly _wrappedClients = new WeakMap<object, object>();

  /** Throws on invalid options, naming the option and its valid values. */
  constructor(config: FlagSyncInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this._getInstrumenter();
  }

  /** Counts of span events, log events and drops (for tests and self-monitoring). */
  get recorderStats() {
    return this._getInstrumenter().stats;
  }

  override enable(): void {
    super.enable();
    // Until the guard is in place, calls are left to the SDK (claims need a covered SDK).
    if (this.getConfig().guardSdkDelivery !== false) {
      installSdkDeliveryGuard().catch((error) => this._diag.warn('could not install the SDK delivery guard', error));
    }
  }

  // disable(): the wrapper stops recording at once. The guard stays: it still holds back the SDK's
  // copies of calls recorded before, and lets every other impression through.

  protected init() {
    return ['@flagsync/node-sdk', '@flagsync/js-sdk'].map(
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
      const factory = original.call(this, config);
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
