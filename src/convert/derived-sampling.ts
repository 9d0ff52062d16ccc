/**
 * The sampling probability a derived event carries (property `sampling.probability`), so analysis
 * can weight it by 1/p: under head sampling only sampled requests are exported, and an event
 * derived from one of them stands for 1/p requests. Read from the span's W3C tracestate, where
 * OpenTelemetry's consistent probability sampling writes it (`ot=th:<hex>`, the rejection
 * threshold T of 56 bits: p = (2^56 - T) / 2^56); in the app's process, else from the app's
 * sampler (src/otel/sampler-probability.ts). The collector's exporter reads tracestate the same
 * way (collector/flagsyncexporter/derived_sampling.go).
 */

/** The property derived events carry the probability in. */
export const SAMPLING_PROBABILITY_PROPERTY = 'sampling.probability';

const TWO_56 = 2n ** 56n;

/** p from a tracestate's `ot` entry (`th:` threshold), or undefined when it has none or a malformed one. */
export function probabilityFromTraceState(traceState: string | undefined): number | undefined {
  if (!traceState) return undefined;
  for (const member of traceState.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim() !== 'ot') continue;
    for (const field of member
      .slice(eq + 1)
      .trim()
      .split(';')) {
      if (!field.startsWith('th:')) continue;
      const hex = field.slice(3);
      if (!/^[0-9a-f]{1,14}$/.test(hex)) return undefined;
      // Trailing zeros are left out of th: pad to 14 digits (56 bits).
      const threshold = BigInt(`0x${hex.padEnd(14, '0')}`);
      return Number(TWO_56 - threshold) / 2 ** 56;
    }
    return undefined;
  }
  return undefined;
}
