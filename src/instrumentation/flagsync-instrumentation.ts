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
import { removeSdkDeliveryGuards } from './sdk-delivery-guard.js';
import { createClientInstrumenter, type ClientInstrumenter } from './wrap-client.js';

export interface FlagSyncInstrumentationConfig extends InstrumentationConfig, FlagSyncInstrumentationOptions {
  /**
   * Stop the SDKs from POSTing impressions themselves, so FlagSync gets each one once, through
   * OpenTelemetry. Default `true`. Set `false` only if nothing in your pipeline delivers to FlagSync.
   */
  guardSdkDelivery?: boolean;
}

type FactoryModule = { FlagSyncFactory: (config: unknown) => { client: () => object } };

export class FlagSyncInstrumentation extends InstrumentationBase<FlagSyncInstrumentationConfig> {
  private _instrumenter: ClientInstrumenter | undefined;
  /** Factories return one client instance each; wrap it once. */
  private readonly _wrappedClients = new WeakMap<object, object>();

  constructor(config: FlagSyncInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  /** Counts of span events, log events and drops (for tests and self-monitoring). */
  get recorderStats() {
    return this._getInstrumenter().stats;
  }

  override enable(): void {
    super.enable();
    if (this.getConfig().guardSdkDelivery !== false) {
      installSdkDeliveryGuard().catch((error) => this._diag.warn('could not install the SDK delivery guard', error));
    }
  }

  override disable(): void {
    super.disable();
    removeSdkDeliveryGuards();
  }

  protected init() {
    return ['@flagsync/node-sdk', '@flagsync/js-sdk'].map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          ['>=0.1.0 <1'],
          (moduleExports: FactoryModule) => this._patch(moduleExports),
          (moduleExports: FactoryModule | undefined) => {
            if (moduleExports && isWrapped(moduleExports.FlagSyncFactory)) this._unwrap(moduleExports, 'FlagSyncFactory');
          },
        ),
    );
  }

  private _patch(moduleExports: FactoryModule): FactoryModule {
    if (isWrapped(moduleExports.FlagSyncFactory)) this._unwrap(moduleExports, 'FlagSyncFactory');
    const instrumentation = this;
    this._wrap(moduleExports, 'FlagSyncFactory', (original) =>
      function patchedFlagSyncFactory(this: unknown, config: unknown) {
        const factory = original.call(this, config);
        const client = factory.client;
        return { ...factory, client: () => instrumentation._wrapClient(client.call(factory)) };
      },
    );
    return moduleExports;
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
    return (this._instrumenter ??= createClientInstrumenter(() => this.getConfig(), () => this.isEnabled()));
  }
}
