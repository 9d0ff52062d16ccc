// Writes testdata/golden/*.json: the conversion contract shared by the TypeScript converter and the
// Go component (collector/flagsyncexporter). Each case is an OTLP/JSON request and the exact FlagSync
// items (JSON text), rejections (reasons) and damaged count it must give. The inputs are declared
// here; the expectations come from the TypeScript converter and are reviewed before committing. Run
// after `npm run build`: node scripts/golden-vectors.mjs. Tests only read the committed files.
import { writeFileSync } from 'node:fs';
import {
  convertLogRecords,
  convertSpans,
  createConverter,
  createDerivedEvents,
  payloadSize,
  PRESETS,
  TraceContexts,
} from '../dist/internal.js';

const T = 1795000000123456789n; // 2026-11-18T... ms .123
const int = (n) => ({ int: String(n) });
const dbl = (n) => ({ dbl: n });
const kv = (o) => ({ kv: o });
const arr = (a) => ({ arr: a });
const bytes = (b64) => ({ bytes: b64 });
/** A map value nested `depth` levels, a string at the bottom. */
const nested = (depth) => (depth === 0 ? 'bottom' : kv({ k: nested(depth - 1) }));

function anyValue(v) {
  if (v === null) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if ('int' in v) return { intValue: v.int };
  if ('dbl' in v) return { doubleValue: Number.isFinite(v.dbl) ? v.dbl : String(v.dbl) };
  if ('kv' in v) return { kvlistValue: { values: attributes(v.kv) } };
  if ('arr' in v) return { arrayValue: { values: v.arr.map(anyValue) } };
  if ('bytes' in v) return { bytesValue: v.bytes };
  throw new Error(`no AnyValue for ${JSON.stringify(v)}`);
}
function attributes(o) {
  return Object.entries(o).map(([key, value]) => ({ key, value: anyValue(value) }));
}
/** This package's own attributes: the size marker first, as the instrumentation writes it. */
function ours(o) {
  const plain = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v && typeof v === 'object' ? 0 : v]));
  return { 'flagsync.size': int(payloadSize(plain)), ...o };
}
const evaluation = (o) => ({
  'feature_flag.key': 'register-button-copy',
  'feature_flag.provider.name': 'FlagSync',
  'feature_flag.context.id': 'user-1',
  'feature_flag.result.reason': 'unknown',
  'flagsync.context': '{"key":"user-1","attributes":{"plan":"pro"}}',
  ...o,
});
const track = (o) => ({ 'flagsync.event.key': 'purchase_event', 'flagsync.context': '{"key":"user-1"}', ...o });

let n = 0;
function traces(events, span = {}) {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': 'shop' }) },
        scopeSpans: [
          {
            scope: { name: 'app' },
            spans: [
              {
                traceId: span.traceId ?? '0af7651916cd43dd8448eb211c80319c',
                spanId: span.spanId ?? 'b7ad6b7169203331',
                name: 'GET /register',
                kind: 2,
                startTimeUnixNano: String(T - 5_000_000n),
                endTimeUnixNano: String(T + 5_000_000n),
                events: events.map(([name, attrs, time]) => ({
                  name,
                  timeUnixNano: String(time ?? T + BigInt(n++) * 1_000_000n),
                  attributes: attributes(attrs),
                })),
              },
            ],
          },
        ],
      },
    ],
  };
}
function logs(records) {
  return {
    resourceLogs: [
      {
        scopeLogs: [
          {
            scope: { name: 'flagsync-otel' },
            logRecords: records.map(([eventName, attrs, body, time]) => ({
              timeUnixNano: String(time ?? T),
              observedTimeUnixNano: String(T + 1000n),
              eventName,
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              attributes: attributes(attrs),
              ...(body ? { body: anyValue(body) } : {}),
            })),
          },
        ],
      },
    ],
  };
}

/** A trace of spans: [name, kind, scope, durationMs, status, attributes, events, spanIndex] each, in one request. */
function trace(traceId, spans) {
  const byScope = new Map();
  spans.forEach((sp, i) => {
    const list = byScope.get(sp.scope ?? 'app') ?? [];
    list.push({
      traceId,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      ...(i > 0 && sp.child !== false ? { parentSpanId: '0000000000000001' } : {}),
      ...(sp.traceState ? { traceState: sp.traceState } : {}),
      name: sp.name,
      kind: sp.kind ?? 1,
      startTimeUnixNano: String(T),
      endTimeUnixNano: String(T + BigInt(Math.round((sp.ms ?? 1) * 1e6))),
      attributes: attributes(sp.attributes ?? {}),
      status: sp.status ? { code: sp.status } : {},
      events: (sp.events ?? []).map(([name, attrs]) => ({
        name,
        timeUnixNano: String(T + 1000n),
        attributes: attributes(attrs),
      })),
    });
    byScope.set(sp.scope ?? 'app', list);
  });
  return [...byScope].map(([name, list]) => ({ scope: { name }, spans: list }));
}
const traces2 = (...scopeSpans) => ({
  resourceSpans: [{ resource: { attributes: attributes({ 'service.name': 'shop' }) }, scopeSpans: scopeSpans.flat() }],
});
const evaluated = (user) => [
  'feature_flag.evaluation',
  ours(
    evaluation({
      'feature_flag.context.id': user,
      'flagsync.context': `{"key":"${user}","attributes":{"plan":"pro"}}`,
      'flagsync.value': '"Join Now"',
    }),
  ),
];
const HTTP = '@opentelemetry/instrumentation-http';
const SERVER = 2,
  CLIENT = 3,
  INTERNAL = 1;
const latency = {
  eventKey: 'http_server_duration_ms',
  match: { kind: 'server', scope: HTTP },
  value: { from: 'duration' },
  properties: ['http.route', 'http.response.status_code'],
};
const errors = {
  eventKey: 'http_server_error',
  match: { kind: 'server', scope: HTTP },
  value: { from: 'flag', when: { status: 'error' } },
};

const FILES = {
  evaluations: [
    [
      'variant and reason written by this package (feature_flag.result.variant last, not counted by flagsync.size): ' +
        'the impression is the same as without them',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          {
            ...ours(
              evaluation({
                'feature_flag.result.reason': 'split',
                'flagsync.value': '"Join Now"',
                'feature_flag.result.value': 'Join Now',
              }),
            ),
            'feature_flag.result.variant': 'Join Now',
          },
          // Explicit times: the cases after this one keep theirs.
          T - 2_000_000n,
        ],
        [
          'feature_flag.evaluation',
          {
            ...ours(
              evaluation({
                'feature_flag.key': 'retired-banner',
                'feature_flag.result.reason': 'disabled',
                'flagsync.value': '"none"',
                'feature_flag.result.value': 'none',
              }),
            ),
            'feature_flag.result.variant': 'off',
          },
          T - 1_000_000n,
        ],
      ]),
    ],
    [
      'a string served value: impression with the context as recorded',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(evaluation({ 'flagsync.value': '"Join Now"', 'feature_flag.result.value': 'Join Now' })),
        ],
      ]),
    ],
    [
      'every JSON type of served value keeps its type',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(evaluation({ 'feature_flag.key': 'bool', 'flagsync.value': 'true', 'feature_flag.result.value': true })),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'feature_flag.key': 'string-true',
              'flagsync.value': '"true"',
              'feature_flag.result.value': 'true',
            }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(evaluation({ 'feature_flag.key': 'int', 'flagsync.value': '1', 'feature_flag.result.value': 1 })),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({ 'feature_flag.key': 'float', 'flagsync.value': '1.5', 'feature_flag.result.value': dbl(1.5) }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({ 'feature_flag.key': 'huge', 'flagsync.value': '1e+21', 'feature_flag.result.value': '1e+21' }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'feature_flag.key': 'object',
              'flagsync.value': '{"layout":"grid","columns":[1,2,3],"extras":{"badge":null,"ключ":"значение"}}',
              'feature_flag.result.value':
                '{"layout":"grid","columns":[1,2,3],"extras":{"badge":null,"ключ":"значение"}}',
            }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'feature_flag.key': 'array',
              'flagsync.value': '[{"a":1},null]',
              'feature_flag.result.value': '[{"a":1},null]',
            }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({ 'feature_flag.key': 'null', 'flagsync.value': 'null', 'feature_flag.result.value': 'null' }),
          ),
        ],
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'feature_flag.key': 'spaced',
              'flagsync.value': ' { "a" : [1, 2] } ',
              'feature_flag.result.value': '{"a":[1,2]}',
            }),
          ),
        ],
      ]),
    ],
    [
      'values left out on purpose (omitFlagValues): flagValue null',
      'traces',
      traces([['feature_flag.evaluation', ours(evaluation({}))]]),
    ],
    [
      'the SDK delivers its own impression (missing flag, uncovered SDK): ignored',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'flagsync.value': '"fallback"',
              'error.type': 'flag_not_found',
              'feature_flag.result.reason': 'error',
              'flagsync.impression': false,
            }),
          ),
        ],
      ]),
    ],
    [
      'the whole context, fields beside the key and unicode included',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'flagsync.value': '"x"',
              'feature_flag.context.id': 'ユーザー-3',
              'flagsync.context':
                '{"email":"a@b.c","key":"ユーザー-3","kind":"user","attributes":{"tags":["a","b"],"nested":{"x":null}}}',
            }),
          ),
        ],
      ]),
    ],
    [
      'a privacy-hashed key, the same on impressions and events',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'flagsync.value': 'false',
              'feature_flag.context.id': '8b1a9953c4611296a827abf8c47804d7e6c49c6b0bcb9b68e3afec6c6d3b4c6d',
              'flagsync.context':
                '{"key":"8b1a9953c4611296a827abf8c47804d7e6c49c6b0bcb9b68e3afec6c6d3b4c6d","attributes":{}}',
            }),
          ),
        ],
        [
          'flagsync.track',
          ours(
            track({
              'flagsync.context':
                '{"key":"8b1a9953c4611296a827abf8c47804d7e6c49c6b0bcb9b68e3afec6c6d3b4c6d","attributes":{}}',
            }),
          ),
        ],
      ]),
    ],
    [
      'flag keys and values needing JSON escapes (quotes, control characters, U+2028, emoji)',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(
            evaluation({
              'feature_flag.key': 'say "hi"\\\t\u0001\u2028😀',
              'flagsync.value': '"line\\nbreak \\u2028"',
            }),
          ),
        ],
      ]),
    ],
    [
      'sub-millisecond time is truncated, as a millisecond clock would read',
      'traces',
      traces([['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': '1' })), 1795000000999999999n]]),
    ],
    [
      'log form: the FlagSync data in the body, semconv attributes cut by a limit',
      'logs',
      logs([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'register-butt',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'user-1',
            'feature_flag.result.value': 'a long serv',
          },
          kv(
            ours(
              evaluation({
                'flagsync.value': '"a long served value"',
                'feature_flag.result.value': 'a long served value',
                'flagsync.call_id': 'k3j2.17',
              }),
            ),
          ),
        ],
      ]),
    ],
    [
      'log form: a record without a time takes its observed time',
      'logs',
      logs([['flagsync.track', {}, kv(ours(track({ 'flagsync.call_id': 'k3j2.18' }))), 0n]]),
    ],
    [
      'cut by attribute limits (size marker does not match): damaged, never delivered',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          { ...ours(evaluation({ 'flagsync.value': '"Join Now"' })), 'flagsync.context': '{"key":"user-1","attr' },
        ],
        [
          'flagsync.track',
          (() => {
            const a = ours(track({ 'flagsync.event.value': '12345' }));
            delete a['flagsync.event.value'];
            return a;
          })(),
        ],
      ]),
    ],
  ],
  tracks: [
    [
      'value, properties, field order as the SDKs send them',
      'traces',
      traces([
        [
          'flagsync.track',
          ours(
            track({
              'flagsync.event.value': '42.5',
              'flagsync.event.properties': '{"price":42.5,"items":[{"sku":"A-1","qty":2}],"gift":false,"note":null}',
            }),
          ),
        ],
      ]),
    ],
    [
      'no value and no properties: both absent',
      'traces',
      traces([['flagsync.track', ours(track({ 'flagsync.event.key': 'signup' }))]]),
    ],
    [
      "value null (NaN and infinities are recorded so, as the SDK's JSON has them), properties null",
      'traces',
      traces([
        ['flagsync.track', ours(track({ 'flagsync.event.value': 'null', 'flagsync.event.properties': 'null' }))],
      ]),
    ],
    [
      'numbers kept exactly as written: 1e+21, 10000000000000000000, 0, -0.25, 1e-7',
      'traces',
      traces(
        ['1e+21', '10000000000000000000', '0', '-0.25', '1e-7'].map((v) => [
          'flagsync.track',
          ours(track({ 'flagsync.event.value': v })),
        ]),
      ),
    ],
    [
      'empty properties object',
      'traces',
      traces([['flagsync.track', ours(track({ 'flagsync.event.value': '0', 'flagsync.event.properties': '{}' }))]]),
    ],
  ],
  'other-emitters': [
    [
      'OpenFeature SpanEventHook style, provider named: the semconv value of each type',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'string',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': 'Join Now',
            'feature_flag.result.variant': 'join',
            'feature_flag.result.reason': 'static',
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'bool',
            'feature_flag.provider.name': 'flagsync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': false,
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'int',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': 3,
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'big-int',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': int('9007199254740993'),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'max-int64',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': int('-9223372036854775808'),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'doubles',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': arr([
              dbl(0.1),
              dbl(1e21),
              dbl(1e-7),
              dbl(123456789.125),
              dbl(-0),
              dbl(5e-324),
              dbl(1.7976931348623157e308),
              dbl(100),
              dbl(2 ** 53 + 2),
            ]),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'variant-only',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.variant': 'Sign Up',
          },
        ],
      ]),
      { providerNames: ['FlagSync'] },
    ],
    [
      'OpenFeature EventHook style (log record attributes), a map value',
      'logs',
      logs([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'checkout-config',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': kv({
              layout: 'grid',
              columns: arr([1, 2, 3]),
              nested: kv({ on: true, none: null }),
            }),
          },
        ],
      ]),
      { providerNames: ['FlagSync'] },
    ],
    [
      'map keys that are names of object internals, and a value nested 64 levels (the deepest taken)',
      'logs',
      logs([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'keys',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': kv({ ['__proto__']: kv({ polluted: true }), constructor: 'c', toString: 1 }),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'deep',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': nested(64),
          },
        ],
      ]),
      { providerNames: ['FlagSync'] },
    ],
    [
      'legacy names: event feature_flag, feature_flag.provider_name, feature_flag.variant',
      'traces',
      traces([
        [
          'feature_flag',
          {
            'feature_flag.key': 'legacy',
            'feature_flag.provider_name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.variant': 'on',
          },
        ],
      ]),
      { providerNames: ['flagsync'] },
    ],
    [
      'other emitters are not taken unless their provider is named',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'string',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': 'Join Now',
          },
        ],
      ]),
    ],
    [
      'OpenFeature reports a flag the provider does not have (error.type flag_not_found, or FLAG_NOT_FOUND): no ' +
        'impression, as the FlagSync SDK sends none for a missing flag; other errors still count',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'missing',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': 'default',
            'feature_flag.result.reason': 'error',
            'error.type': 'flag_not_found',
          },
          T, // explicit times: the cases after this one keep theirs
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'missing-older-hooks',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': false,
            'error.type': 'FLAG_NOT_FOUND',
          },
          T + 1_000_000n,
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'type-mismatch',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'of-user',
            'feature_flag.result.value': 'default',
            'feature_flag.result.reason': 'error',
            'error.type': 'type_mismatch',
          },
          T + 2_000_000n,
        ],
      ]),
      { providerNames: ['FlagSync'] },
    ],
    [
      "another vendor's evaluations and unrelated events: ignored",
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          { 'feature_flag.key': 'x', 'feature_flag.provider.name': 'LaunchDarkly', 'feature_flag.context.id': 'u' },
        ],
        ['exception', { 'exception.message': 'boom' }],
      ]),
      { providerNames: ['FlagSync'] },
    ],
  ],
  derived: [
    [
      'the HTTP server span above the handler that evaluated the flag: its duration, attributed to that user; properties only from the allow list',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc60c', [
          {
            name: 'GET /checkout',
            kind: SERVER,
            scope: HTTP,
            ms: 812.4567,
            attributes: {
              'http.route': '/checkout',
              'http.response.status_code': 200,
              'user_agent.original': 'secret-ish',
              'http.request.header.cookie': 'never',
            },
            child: false,
          },
          { name: 'checkout handler', kind: INTERNAL, ms: 3, events: [evaluated('user-1')] },
        ]),
      ),
      { derivedEvents: [latency, errors] },
    ],
    [
      'error rate: 1 for a server span with status error, 0 for one without; one event per rule per span',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc601', [
          {
            name: 'POST /pay',
            kind: SERVER,
            scope: HTTP,
            ms: 20,
            status: 2,
            attributes: { 'http.route': '/pay', 'http.response.status_code': 500 },
            events: [evaluated('user-2')],
            child: false,
          },
        ]),
        trace('5b8efff798038103d269b633813fc602', [
          {
            name: 'POST /pay',
            kind: SERVER,
            scope: HTTP,
            ms: 10,
            status: 1,
            attributes: { 'http.route': '/pay', 'http.response.status_code': 201 },
            events: [evaluated('user-3')],
            child: false,
          },
        ]),
      ),
      { derivedEvents: [errors] },
    ],
    [
      'a numeric attribute as the value (int and double), attribute conditions (equals across int/double, in, regex), span name regex; a span without the attribute gives nothing',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc603', [
          {
            name: 'GET /search',
            kind: CLIENT,
            scope: 'undici',
            ms: 5,
            attributes: {
              'http.response.body.size': int(2048),
              'http.response.status_code': int(200),
              'server.address': 'api.example.com',
            },
            child: false,
            events: [evaluated('user-4')],
          },
          {
            name: 'GET /search/2',
            kind: CLIENT,
            scope: 'undici',
            ms: 5,
            attributes: {
              'http.response.body.size': dbl(10.5),
              'http.response.status_code': dbl(200),
              'server.address': 'cdn.example.com',
            },
          },
          {
            name: 'GET /other',
            kind: CLIENT,
            scope: 'undici',
            ms: 5,
            attributes: { 'http.response.status_code': int(200), 'server.address': 'api.example.com' },
          },
        ]),
      ),
      {
        derivedEvents: [
          {
            eventKey: 'response_bytes',
            match: {
              spanNameRegex: '^GET /(search|other)',
              kind: 'client',
              attributes: [
                { key: 'http.response.status_code', equals: 200 },
                { key: 'server.address', regex: '\\.example\\.com$' },
                { key: 'http.response.status_code', in: [200, 204] },
              ],
            },
            value: { from: 'attribute', key: 'http.response.body.size' },
            properties: ['server.address'],
          },
        ],
      },
    ],
    [
      'several contexts in one trace: one event each, in the order first seen; no value: a plain event',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc604', [
          { name: 'GET /compare', kind: SERVER, scope: HTTP, ms: 40, child: false },
          { name: 'render', events: [evaluated('user-5'), evaluated('user-6'), evaluated('user-5')] },
        ]),
      ),
      { derivedEvents: [{ eventKey: 'compare_page_view', match: { spanName: 'GET /compare' } }] },
    ],
    [
      'a matching span in a trace without any evaluation gives nothing; spans that do not match give nothing',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc605', [
          { name: 'GET /health', kind: SERVER, scope: HTTP, ms: 1, child: false },
        ]),
        trace('5b8efff798038103d269b633813fc606', [
          { name: 'GET /checkout', kind: CLIENT, scope: HTTP, ms: 1, child: false, events: [evaluated('user-7')] },
        ]),
      ),
      { derivedEvents: [latency] },
    ],
    [
      'browser document load; an OpenFeature evaluation (provider named) gives the context',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc607', [
          {
            name: 'documentLoad',
            kind: INTERNAL,
            scope: '@opentelemetry/instrumentation-document-load',
            ms: 1234.5,
            child: false,
            attributes: { 'http.url': 'https://shop.example.com/' },
          },
          {
            name: 'resourceFetch',
            kind: INTERNAL,
            scope: '@opentelemetry/instrumentation-document-load',
            ms: 2,
            events: [
              [
                'feature_flag.evaluation',
                {
                  'feature_flag.key': 'hero',
                  'feature_flag.provider.name': 'FlagSync',
                  'feature_flag.context.id': 'browser-user',
                  'feature_flag.result.value': 'B',
                },
              ],
            ],
          },
        ]),
      ),
      {
        providerNames: ['FlagSync'],
        derivedEvents: [
          {
            eventKey: 'page_load_time',
            match: { spanName: 'documentLoad', scope: '@opentelemetry/instrumentation-document-load' },
            value: { from: 'duration' },
          },
        ],
      },
    ],
  ],
  presets: [
    [
      'the http preset: global and per-route latency and error rate for HTTP server spans (stable semconv); ' +
        'without http.route only the global events; not an HTTP server span: nothing',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc610', [
          {
            name: 'GET /users/:id',
            kind: SERVER,
            scope: HTTP,
            ms: 31.25,
            status: 2,
            attributes: {
              'http.request.method': 'GET',
              'http.route': '/users/:id',
              'url.path': '/users/42',
              'http.response.status_code': int(500),
            },
            child: false,
          },
          { name: 'handler', kind: INTERNAL, ms: 3, events: [evaluated('user-10')] },
        ]),
        trace('5b8efff798038103d269b633813fc611', [
          {
            name: 'POST',
            kind: SERVER,
            scope: HTTP,
            ms: 7,
            attributes: { 'http.request.method': 'POST', 'url.path': '/login', 'http.response.status_code': int(200) },
            child: false,
            events: [evaluated('user-11')],
          },
        ]),
        trace('5b8efff798038103d269b633813fc612', [
          {
            name: 'grpc.Checkout/Pay',
            kind: SERVER,
            scope: 'grpc',
            ms: 5,
            child: false,
            events: [evaluated('user-12')],
          },
          {
            name: 'GET /old',
            kind: SERVER,
            scope: HTTP,
            ms: 5,
            attributes: { 'http.method': 'GET', 'http.route': '/old' },
          },
        ]),
      ),
      { derivedEvents: [{ preset: 'http' }] },
    ],
    [
      "a preset beside rules of one's own: the preset's rules take its place in the list",
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc613', [
          {
            name: 'GET /',
            kind: SERVER,
            scope: HTTP,
            ms: 2.5,
            attributes: { 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': int(200) },
            child: false,
            events: [evaluated('user-13')],
          },
        ]),
      ),
      { derivedEvents: [latency, { preset: 'http' }, errors] },
    ],
  ],
  sampling: [
    [
      "sampling.probability from the span's tracestate (ot=th:, trailing zeros left out; other vendors and " +
        'fields around it); none without th or with a malformed one; allow-listed properties first',
      'traces',
      traces2(
        ...[
          ['ot=th:c', 'u-1'],
          ['dd=s:1;o:rum,ot=rv:a1b2c3d4e5f607;th:fd70a3d70a3d71', 'u-2'],
          ['ot=th:0', 'u-3'],
          ['ot=th:8', 'u-4'],
          ['ot=rv:0123456789abcd', 'u-5'],
          ['ot=th:XYZ', 'u-6'],
          ['ot=th:123456789abcdef0', 'u-7'],
          ['', 'u-8'],
        ].map(([traceState, user], i) =>
          trace(`5b8efff798038103d269b633813fc6${(32 + i).toString(16)}`, [
            {
              name: 'GET /checkout',
              kind: SERVER,
              scope: HTTP,
              ms: 10 + i,
              traceState,
              attributes: { 'http.route': '/checkout', 'http.response.status_code': int(200) },
              child: false,
              events: [evaluated(user)],
            },
          ]),
        ),
      ),
      { derivedEvents: [latency, errors] },
    ],
    [
      'an event key with {attribute} placeholders: strings as they are, numbers and booleans as JSON writes them; ' +
        'a missing or empty one: no event from that rule',
      'traces',
      traces2(
        trace('5b8efff798038103d269b633813fc640', [
          {
            name: 'GET /a',
            kind: SERVER,
            scope: HTTP,
            ms: 4,
            attributes: {
              'http.response.status_code': int(404),
              ratio: dbl(0.5),
              cached: true,
              'http.route': '',
              'user.tier': 'gold',
            },
            child: false,
            events: [evaluated('u-9')],
          },
        ]),
      ),
      {
        derivedEvents: [
          { eventKey: 'status.{http.response.status_code};ratio={ratio};cached={cached}', match: { kind: 'server' } },
          { eventKey: 'route={http.route}', match: { kind: 'server' } },
          { eventKey: 'tier={user.tier}{missing}', match: { kind: 'server' } },
          { eventKey: '{user.tier}', match: { kind: 'server' }, value: { from: 'duration' } },
        ],
      },
    ],
  ],
  invalid: [
    [
      'FlagSync data that cannot be converted: rejected with its reason',
      'traces',
      traces([
        ['feature_flag.evaluation', ours(evaluation({ 'feature_flag.key': '', 'flagsync.value': '1' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': '{bad' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': 5 }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': '1', 'flagsync.context': '[1]' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': '1', 'flagsync.context': '{"key":""}' }))],
        [
          'feature_flag.evaluation',
          ours(evaluation({ 'flagsync.value': '1', 'flagsync.context': '{"key":"u","attributes":[]}' })),
        ],
        ['flagsync.track', ours(track({ 'flagsync.event.key': '' }))],
        ['flagsync.track', ours(track({ 'flagsync.event.value': '"12"' }))],
        ['flagsync.track', ours(track({ 'flagsync.event.value': 'abc' }))],
        ['flagsync.track', ours(track({ 'flagsync.event.properties': '[1,2]' }))],
        ['flagsync.track', ours(track({ 'flagsync.event.properties': '"text"' }))],
        [
          'flagsync.track',
          (() => {
            const a = ours(track({}));
            delete a['flagsync.context'];
            a['flagsync.size'] = int(payloadSize({ 'flagsync.event.key': 'purchase_event' }));
            return a;
          })(),
        ],
      ]),
    ],
    [
      'other emitters: no context key, a value that is not JSON',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          { 'feature_flag.key': 'f', 'feature_flag.provider.name': 'FlagSync', 'feature_flag.result.value': 1 },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'f',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'u',
            'feature_flag.result.value': bytes('AQID'),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'f',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'u',
            'feature_flag.result.value': dbl(Infinity),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'f',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'u',
            'feature_flag.result.value': dbl(NaN),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'f',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'u',
            'feature_flag.result.value': nested(65),
          },
        ],
        [
          'feature_flag.evaluation',
          {
            'feature_flag.key': 'f',
            'feature_flag.provider.name': 'FlagSync',
            'feature_flag.context.id': 'u',
            'feature_flag.result.value': nested(100),
          },
        ],
      ]),
      { providerNames: ['FlagSync'] },
    ],
  ],
  delivery: [
    [
      'flagsync.delivery collector: the collector delivers the impression and the event',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          ours(evaluation({ 'flagsync.delivery': 'collector', 'flagsync.value': '"Join Now"' })),
        ],
        ['flagsync.track', ours(track({ 'flagsync.delivery': 'collector', 'flagsync.event.value': '42.5' }))],
      ]),
    ],
    [
      'flagsync.delivery sdk: telemetry only, nothing delivered; the context still joins the trace for derived events',
      'traces',
      {
        resourceSpans: [
          {
            resource: { attributes: attributes({ 'service.name': 'shop' }) },
            scopeSpans: trace('1af7651916cd43dd8448eb211c80319c', [
              {
                name: 'GET /register',
                kind: SERVER,
                scope: HTTP,
                ms: 12.5,
                attributes: { 'http.route': '/register', 'http.response.status_code': 200 },
                events: [
                  [
                    'feature_flag.evaluation',
                    ours(evaluation({ 'flagsync.delivery': 'sdk', 'flagsync.value': '"Join Now"' })),
                  ],
                  ['flagsync.track', ours(track({ 'flagsync.delivery': 'sdk' }))],
                ],
              },
            ]),
          },
        ],
      },
      { derivedEvents: [latency] },
    ],
    [
      'flagsync.delivery exporter: the app process delivers; a collector skips it',
      'traces',
      traces([
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.delivery': 'exporter', 'flagsync.value': 'true' }))],
        ['flagsync.track', ours(track({ 'flagsync.delivery': 'exporter' }))],
      ]),
    ],
    [
      'the in-process exporter takes exporter-marked events and skips the others',
      'traces',
      traces([
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.delivery': 'exporter', 'flagsync.value': '1' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.delivery': 'collector', 'flagsync.value': '2' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.delivery': 'sdk', 'flagsync.value': '3' }))],
        ['flagsync.track', ours(track({ 'flagsync.delivery': 'exporter' }))],
        ['flagsync.track', ours(track({ 'flagsync.delivery': 'collector' }))],
      ]),
      { consumer: 'exporter' },
    ],
    [
      'earlier versions: flagsync.impression false reads as sdk; neither marker: delivered',
      'traces',
      traces([
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.impression': false, 'flagsync.value': '1' }))],
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.value': '2' }))],
      ]),
    ],
    [
      'an unknown flagsync.delivery value is rejected, never guessed',
      'traces',
      traces([
        ['feature_flag.evaluation', ours(evaluation({ 'flagsync.delivery': 'both', 'flagsync.value': '1' }))],
        ['flagsync.track', ours(track({ 'flagsync.delivery': 'Collector' }))],
      ]),
    ],
    [
      'a marker dropped on the way (attribute count limit) is damage, not a legacy event',
      'traces',
      traces([
        [
          'feature_flag.evaluation',
          (() => {
            const a = ours(evaluation({ 'flagsync.delivery': 'sdk', 'flagsync.value': '1' }));
            delete a['flagsync.delivery'];
            return a;
          })(),
        ],
      ]),
    ],
    [
      'log-based events: the marker is read from the body',
      'logs',
      logs([
        [
          'feature_flag.evaluation',
          { 'feature_flag.key': 'register-button-copy' },
          kv(
            ours(evaluation({ 'flagsync.delivery': 'collector', 'flagsync.value': '"A"', 'flagsync.call_id': 'n.1' })),
          ),
        ],
        [
          'feature_flag.evaluation',
          { 'feature_flag.key': 'register-button-copy' },
          kv(ours(evaluation({ 'flagsync.delivery': 'sdk', 'flagsync.value': '"B"', 'flagsync.call_id': 'n.2' }))),
        ],
        ['flagsync.track', {}, kv(ours(track({ 'flagsync.delivery': 'sdk', 'flagsync.call_id': 'n.3' })))],
      ]),
    ],
  ],
};

/** An OTLP/JSON AnyValue as the OTel JS SDK holds attribute values. */
function jsValue(v) {
  if (!v || Object.keys(v).length === 0) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number.isSafeInteger(Number(v.intValue)) ? Number(v.intValue) : BigInt(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(jsValue);
  if ('kvlistValue' in v) return jsAttributes(v.kvlistValue.values ?? []);
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue, 'base64'));
  return null;
}
const jsAttributes = (list) => Object.fromEntries(list.map((a) => [a.key, jsValue(a.value)]));
const hrTime = (nanos) => [Number(BigInt(nanos) / 1_000_000_000n), Number(BigInt(nanos) % 1_000_000_000n)];

/** The request's spans as the OTel JS SDK holds them (what the in-process exporters convert). */
const sdkSpans = (request) =>
  request.resourceSpans.flatMap((r) =>
    r.scopeSpans.flatMap((s) =>
      s.spans.map((span) => ({
        events: span.events.map((e) => ({
          name: e.name,
          time: hrTime(e.timeUnixNano),
          attributes: jsAttributes(e.attributes),
        })),
        name: span.name,
        // The SDK's SpanKind counts from internal = 0; OTLP's from unspecified = 0.
        kind: span.kind - 1,
        startTime: hrTime(span.startTimeUnixNano),
        endTime: hrTime(span.endTimeUnixNano),
        status: { code: span.status?.code ?? 0 },
        attributes: jsAttributes(span.attributes ?? []),
        instrumentationScope: { name: s.scope?.name ?? '' },
        spanContext: () => ({ traceId: span.traceId, spanId: span.spanId }),
      })),
    ),
  );

/** The request's log records as the OTel JS SDK holds them. */
const sdkLogRecords = (request) =>
  request.resourceLogs
    .flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords))
    .map((record) => ({
      eventName: record.eventName,
      // The SDK gives every record a time: a record without one takes its observed time.
      hrTime: hrTime(record.timeUnixNano === '0' ? record.observedTimeUnixNano : record.timeUnixNano),
      attributes: jsAttributes(record.attributes),
      body: jsValue(record.body),
    }));

for (const [file, cases] of Object.entries(FILES)) {
  const out = cases.map(([name, signal, request, converterOptions]) => {
    const converter = createConverter(converterOptions ?? {});
    const derived = createDerivedEvents(converterOptions ?? {}, new TraceContexts());
    const expect = { impressions: [], events: [], rejected: [], damaged: 0 };
    if (derived.rules.length > 0) expect.derived = [];
    // Cases about flagsync.delivery also count the events left to another deliverer.
    if (file === 'delivery') expect.elsewhere = 0;
    const onOutcome = (outcome) => {
      if (outcome.kind === 'impression') expect.impressions.push(outcome.json);
      else if (outcome.kind === 'event') expect.events.push(outcome.json);
      else if (outcome.kind === 'rejected') expect.rejected.push(outcome.reason);
      else if (outcome.kind === 'damaged') expect.damaged++;
      else if (outcome.kind === 'elsewhere' && 'elsewhere' in expect) expect.elsewhere++;
    };
    if (signal === 'traces')
      convertSpans(converter, sdkSpans(request), onOutcome, derived, (d) => expect.derived.push(d.json));
    else convertLogRecords(converter, sdkLogRecords(request), onOutcome);
    return { name, ...(converterOptions ? { converter: converterOptions } : {}), signal, request, expect };
  });
  writeFileSync(new URL(`../testdata/golden/${file}.json`, import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`testdata/golden/${file}.json: ${out.length} cases`);
}

// The rules each preset stands for, as both sides expand them (the Go test compares its own).
const presets = {
  about:
    'Derived-event rule presets and the rules each expands to (TypeScript option names). The TypeScript ' +
    '(src/convert/derived-presets.ts) and Go (collector/flagsyncexporter/derived_presets.go) expansions are both held to it.',
  presets: PRESETS,
};
writeFileSync(
  new URL('../testdata/golden/rules/presets.json', import.meta.url),
  `${JSON.stringify(presets, null, 1)}\n`,
);
console.log(`testdata/golden/rules/presets.json: ${Object.keys(PRESETS).length} presets`);
