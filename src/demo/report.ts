/**
 * Readable tables of what the stand-in received, the variant split the app's evaluation counter
 * reported beside it, and the experiment join FlagSync would compute.
 */

type Item = Record<string, unknown> & { context: { key: string } };

/** A data point of the `feature_flag.evaluations` counter. */
interface EvaluationCount {
  attributes: Record<string, unknown>;
  count: number;
}

export function renderReport(impressions: Item[], events: Item[], evaluations: EvaluationCount[] = []): string {
  const out: string[] = [];
  out.push('Impressions received, per flag variant');
  const byVariant = groupBy(impressions, (i) => `${i.flagKey}\u0000${JSON.stringify(i.flagValue)}`);
  out.push(
    table(
      ['flag', 'variant', 'impressions', 'users'],
      [...byVariant].sort().map(([k, items]) => {
        const [flag, value] = k.split('\u0000');
        return [flag!, value!, String(items.length), String(new Set(items.map((i) => i.context.key)).size)];
      }),
    ),
  );

  // The app's own metric: evaluations per flag, variant and reason, as a metrics backend shows them;
  // beside it the impressions FlagSync received of the variant's value (the demo's variants are named by their value).
  out.push(
    '',
    "Variant split, from the app's feature_flag.evaluations counter, beside the impressions FlagSync received",
  );
  const perFlag = groupBy(evaluations, (e) => String(e.attributes['feature_flag.key']));
  const splitRows = [...perFlag].sort().flatMap(([flag, points]) => {
    const total = points.reduce((n, p) => n + p.count, 0);
    return points
      .map((p) => ({ ...p, variant: String(p.attributes['feature_flag.result.variant'] ?? '-') }))
      .sort((a, b) => a.variant.localeCompare(b.variant))
      .map((p) => [
        flag,
        p.variant,
        String(p.attributes['feature_flag.result.reason'] ?? '-'),
        String(p.count),
        `${((100 * p.count) / total).toFixed(0)}%`,
        String(impressions.filter((i) => i.flagKey === flag && String(i.flagValue) === p.variant).length),
      ]);
  });
  out.push(table(['flag', 'variant', 'reason', 'evaluations', 'share', 'impressions'], splitRows));

  out.push('', 'Events received, per event key');
  out.push(
    table(
      ['event', 'count', 'users', 'avg value', 'properties seen'],
      [...groupBy(events, (e) => String(e.eventKey))].sort().map(([key, items]) => {
        const values = items.map((e) => e.value).filter((v): v is number => typeof v === 'number');
        const props = new Set(
          items.flatMap((e) => (e.properties && typeof e.properties === 'object' ? Object.keys(e.properties) : [])),
        );
        return [
          key,
          String(items.length),
          String(new Set(items.map((e) => e.context.key)).size),
          values.length ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(1) : '-',
          [...props].join(', ') || '-',
        ];
      }),
    ),
  );

  // FlagSync joins impressions and events on the context key: the experiment view.
  const variantOf = new Map<string, string>();
  for (const i of impressions)
    if (i.flagKey === 'register-button-copy') variantOf.set(i.context.key, String(i.flagValue));
  const rows = [...groupBy([...variantOf], ([, v]) => v)].sort().map(([variant, users]) => {
    const keys = new Set(users.map(([k]) => k));
    const average = (eventKey: string, digits: number) => {
      const values = events
        .filter((e) => e.eventKey === eventKey && keys.has(e.context.key))
        .map((e) => e.value as number);
      return values.length
        ? `${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(digits)} (${values.length})`
        : '-';
    };
    const buyers = new Set(
      events.filter((e) => e.eventKey === 'purchase_event' && keys.has(e.context.key)).map((e) => e.context.key),
    );
    return [
      variant,
      String(keys.size),
      `${((100 * buyers.size) / keys.size).toFixed(0)}%`,
      average('page_load_time', 0),
      average('register_server_ms', 1),
    ];
  });
  out.push('', 'Experiment register-button-copy (impressions joined with events on context.key)');
  out.push(
    table(['variant', 'users', 'purchased', 'avg page_load_time ms (track)', 'avg register_server_ms (derived)'], rows),
  );
  return out.join('\n');
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
