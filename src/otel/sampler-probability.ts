/**
 * The probability with which the app's sampler keeps a trace, for derived events from spans whose
 * tracestate does not say (derived-sampling.ts). Read from the global tracer provider: the SDK's
 * tracers keep their provider's sampler (`_sampler`, on both OTel JS lines), and a sampler describes
 * itself (`toString()`, the specification's GetDescription): `AlwaysOnSampler`,
 * `TraceIdRatioBased{0.1}`, `ParentBased{root=..., ...}`. A private contract, kept to this file:
 * undefined whenever it does not hold, or the sampler is another.
 */
import { trace } from '@opentelemetry/api';

const byProvider = new WeakMap<object, number | undefined>();

/** p of the global tracer provider's sampler, or undefined when it cannot be known. */
export function appSamplerProbability(): number | undefined {
  const proxy = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const provider = typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : proxy;
  if (typeof provider !== 'object' || provider === null) return undefined;
  if (byProvider.has(provider)) return byProvider.get(provider);
  let p: number | undefined;
  try {
    const tracer = (provider as { getTracer(name: string): { _sampler?: { toString(): string } } }).getTracer(
      'flagsync-otel',
    );
    const sampler = tracer?._sampler;
    p = sampler ? probabilityFromDescription(String(sampler)) : undefined;
  } catch {
    p = undefined;
  }
  byProvider.set(provider, p);
  return p;
}

/**
 * p from a sampler's description. ParentBased: its root sampler's, which is the probability of
 * traces that start in this app (or in apps sampling alike: a child follows its parent's decision).
 */
export function probabilityFromDescription(description: string): number | undefined {
  const parentBased = /^ParentBased\{root=(.*?)(?:, remoteParentSampled=.*)?\}$/.exec(description);
  const root = parentBased ? parentBased[1]! : description;
  if (root === 'AlwaysOnSampler') return 1;
  const ratio = /^TraceIdRatioBased\{([^}]*)\}$/.exec(root);
  if (!ratio) return undefined;
  const p = Number(ratio[1]);
  return Number.isFinite(p) && p >= 0 && p <= 1 ? p : undefined;
}
