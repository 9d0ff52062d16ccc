/**
 * The sampling probability a derived event carries (property `sampling.probability`), so analysis
 * can weight it by 1/p: under head sampling only sampled requests are exported, and an event
 * derived from one of them stands for 1/p requests. Read from the span's W3C tracestate, where
 * OpenTelemetry's consistent probability sampling writes it (`ot=th:<hex>`, the rejection
 * threshold T of 56 bits: p = (2^56 - T) / 2^56), else from the sampler the app configured through
 * OTEL_TRACES_SAMPLER, when that says. The collector's exporter reads tracestate the same way
 * (collector/flagsyncexporter/derived_sampling.go).
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

/**
 * p of the sampler set through the environment, as the SDKs read it (`always_on`, `traceidratio`
 * with OTEL_TRACES_SAMPLER_ARG, and their parentbased forms, whose root spans it describes);
 * undefined when it is not set there (a sampler set in code is not known here).
 */
export function probabilityFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler !== 'traceidratio' && sampler !== 'parentbased_traceidratio') return undefined;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  // The SDKs' default ratio is 1; an out-of-range or unreadable one they also take as 1.
  const ratio = arg ? Number(arg) : 1;
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
}
