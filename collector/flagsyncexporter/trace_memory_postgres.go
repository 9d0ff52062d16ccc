// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// postgresTraces is the trace memory in the shared store: any gateway carries on with a trace
// another one began (a restart, a rolling deploy, a routing change). One request's notes and spans
// are applied in one transaction that locks their traces' rows, so that two gateways never both
// miss each other (a span left waiting after the evaluation that would take it). Rows carry their
// trace's window: a trace past it starts afresh, and the sweep purges the old rows, counting the
// spans that waited in vain as unattributed. derived_events_max_per_trace bounds, per trace, the
// events made, the contexts kept (the first seen, as the local memory keeps them, so that a fleet
// and a single collector attribute the same users) and the spans waiting; what it refuses is
// counted as max_per_trace.
type postgresTraces struct {
	store    *postgresStore
	scope    []byte
	window   time.Duration
	perTrace int
	counters traceCounters
}

// applySQL runs in one round trip and one transaction (a pipeline's implicit one): lock (or start
// afresh) the traces, add the contexts within the bound, read the traces' contexts in the order
// they came, take the spans that waited for them and count the events they and this request's
// spans make (as apply makes them: contexts × spans, up to derived_events_max_per_trace), and leave
// this request's other spans waiting within the bound. A trace's row counts its contexts and
// waiting spans, so a bound costs no count of rows; a context's seq is its place in its trace.
var applySQL = []string{
	`WITH locked AS (
  INSERT INTO flagsync_traces AS t (trace, expires_at)
  SELECT unnest($1::bytea[]), now() + $2::bigint * interval '1 millisecond'
  ON CONFLICT (trace) DO UPDATE SET
    made = CASE WHEN t.expires_at <= now() THEN 0 ELSE t.made END,
    contexts = CASE WHEN t.expires_at <= now() THEN 0 ELSE t.contexts END,
    waiting = CASE WHEN t.expires_at <= now() THEN 0 ELSE t.waiting END,
    expires_at = CASE WHEN t.expires_at <= now() THEN excluded.expires_at ELSE t.expires_at END
  RETURNING t.trace, t.made
)
SELECT trace, made FROM locked WHERE made > 0`,
	// The contexts the traces do not hold yet, numbered after those they do (in the request's
	// order); those past the bound are counted, not kept. A row of a past window is replaced.
	`WITH fresh AS (
  SELECT n.trace, n.key, n.text, t.expires_at, t.contexts + row_number() OVER (PARTITION BY n.trace ORDER BY n.i) AS seq
  FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS n(trace, key, text, i)
  JOIN flagsync_traces t ON t.trace = n.trace
  WHERE NOT EXISTS (SELECT 1 FROM flagsync_trace_contexts c WHERE c.trace = n.trace AND c.context_key = n.key AND c.expires_at = t.expires_at)
),
added AS (
  INSERT INTO flagsync_trace_contexts AS c (trace, context_key, context_text, expires_at, seq)
  SELECT trace, key, text, expires_at, seq FROM fresh WHERE seq <= $4
  ON CONFLICT (trace, context_key) DO UPDATE SET context_text = excluded.context_text, expires_at = excluded.expires_at, seq = excluded.seq
  RETURNING c.trace
),
held AS (
  UPDATE flagsync_traces t SET contexts = t.contexts + a.n
  FROM (SELECT trace, count(*) AS n FROM added GROUP BY trace) a WHERE t.trace = a.trace
)
SELECT count(*) FROM fresh WHERE seq > $4`,
	// The first contexts of each trace in the order they came, to make events from; a trace whose
	// events are all made gives only how many it holds (its spans' events are counted, not made).
	`SELECT t.trace, c.seq, c.context_key, c.context_text, 0::bigint
FROM flagsync_traces t CROSS JOIN LATERAL (
  SELECT seq, context_key, context_text FROM flagsync_trace_contexts c
  WHERE c.trace = t.trace AND c.expires_at = t.expires_at ORDER BY seq, context_key LIMIT $2
) c
WHERE t.trace = ANY($1::bytea[]) AND t.made < $2
UNION ALL
SELECT t.trace, 0, NULL, NULL, ` + heldSQL + `
FROM flagsync_traces t WHERE t.trace = ANY($1::bytea[]) AND t.made >= $2
ORDER BY 1, 2, 3`,
	`WITH taken AS (
  DELETE FROM flagsync_trace_waiting w USING flagsync_traces t
  WHERE t.trace = w.trace AND w.expires_at = t.expires_at AND w.trace = ANY($1::bytea[])
    AND EXISTS (SELECT 1 FROM flagsync_trace_contexts c WHERE c.trace = w.trace AND c.expires_at = t.expires_at)
  RETURNING w.trace, w.source, w.tail
),
spans AS (SELECT s AS trace, count(*) AS n FROM unnest($3::bytea[]) AS s GROUP BY s),
counts AS (
  SELECT t.trace,
    ` + heldSQL + ` AS contexts,
    (SELECT count(*) FROM taken k WHERE k.trace = t.trace) + coalesce((SELECT n FROM spans WHERE spans.trace = t.trace), 0) AS spans
  FROM flagsync_traces t WHERE t.trace = ANY($1::bytea[]) AND t.made < $2
),
bump AS (
  UPDATE flagsync_traces t SET made = least($2::integer, t.made + c.contexts * c.spans), waiting = 0
  FROM counts c WHERE t.trace = c.trace AND c.contexts > 0 AND (c.spans > 0 OR t.waiting > 0)
)
SELECT trace, source, tail FROM taken`,
	// This request's spans whose trace has no context yet wait, within the bound, as contexts do.
	`WITH fresh AS (
  SELECT s.trace, s.source, s.tail, t.expires_at, t.waiting + row_number() OVER (PARTITION BY s.trace ORDER BY s.i) AS place
  FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS s(trace, source, tail, i)
  JOIN flagsync_traces t ON t.trace = s.trace
  WHERE NOT EXISTS (SELECT 1 FROM flagsync_trace_contexts c WHERE c.trace = s.trace AND c.expires_at = t.expires_at)
    AND NOT EXISTS (SELECT 1 FROM flagsync_trace_waiting w WHERE w.trace = s.trace AND w.source = s.source AND w.expires_at = t.expires_at)
),
added AS (
  INSERT INTO flagsync_trace_waiting AS w (trace, source, tail, expires_at)
  SELECT trace, source, tail, expires_at FROM fresh WHERE place <= $4
  ON CONFLICT (trace, source) DO UPDATE SET tail = excluded.tail, expires_at = excluded.expires_at
  RETURNING w.trace
),
held AS (
  UPDATE flagsync_traces t SET waiting = t.waiting + a.n
  FROM (SELECT trace, count(*) AS n FROM added GROUP BY trace) a WHERE t.trace = a.trace
)
SELECT count(*) FROM fresh WHERE place > $4`,
}

// heldSQL is how many contexts trace t holds in its window ($2: the bound): its count, or, in a
// row an older version wrote (no count), its rows, up to the bound.
const heldSQL = `CASE WHEN t.contexts > 0 THEN t.contexts::bigint ELSE (SELECT least(count(*), $2) FROM flagsync_trace_contexts c
  WHERE c.trace = t.trace AND c.expires_at = t.expires_at) END`

// traceKey is a trace's row key: the store scope, then the trace id.
func (p *postgresTraces) traceKey(id pcommon.TraceID) []byte {
	return append(append(make([]byte, 0, len(p.scope)+len(id)), p.scope...), id[:]...)
}

func (p *postgresTraces) apply(ctx context.Context, notes []traceNote, spans []traceSpan) ([]derivedEvent, error) {
	if len(notes) == 0 && len(spans) == 0 {
		return nil, nil
	}
	if err := p.store.ready(ctx); err != nil {
		return nil, err
	}
	var traces, noteTraces, noteKeys, noteTexts, spanTraces, spanSources, spanTails [][]byte
	seen := map[string]bool{}
	for _, n := range notes {
		if n.traceID.IsEmpty() {
			continue
		}
		k := p.traceKey(n.traceID)
		if id := string(k) + "\x00" + string(n.key); !seen[id] {
			seen[id] = true
			noteTraces, noteKeys, noteTexts = append(noteTraces, k), append(noteKeys, n.key), append(noteTexts, n.text)
		}
		traces = append(traces, k)
	}
	for _, s := range spans {
		k := p.traceKey(s.traceID)
		if id := string(k) + "\x01" + string(s.waiting.source); !seen[id] {
			seen[id] = true
			spanTraces, spanSources, spanTails = append(spanTraces, k), append(spanSources, s.waiting.source), append(spanTails, s.waiting.tail)
		}
		traces = append(traces, k)
	}
	// Locked in one order on every gateway: no deadlock.
	slices.SortFunc(traces, bytes.Compare)
	traces = slices.CompactFunc(traces, bytes.Equal)

	batch := &pgx.Batch{}
	// FlatArray: pgx encodes it without reflection.
	flat := func(b [][]byte) pgtype.FlatArray[[]byte] { return pgtype.FlatArray[[]byte](b) }
	batch.Queue(applySQL[0], flat(traces), p.window.Milliseconds())
	batch.Queue(applySQL[1], flat(noteTraces), flat(noteKeys), flat(noteTexts), p.perTrace)
	batch.Queue(applySQL[2], flat(traces), p.perTrace)
	batch.Queue(applySQL[3], flat(traces), p.perTrace, flat(spanTraces))
	batch.Queue(applySQL[4], flat(spanTraces), flat(spanSources), flat(spanTails), p.perTrace)
	made := map[string]int{}
	contexts := map[string]*traceContextsRead{}
	var taken []traceSpan
	var takenKeys []string
	// Contexts and waiting spans the bound refused.
	var refusedContexts, refusedSpans int64
	err := func() error {
		results := p.store.pool.SendBatch(ctx, batch)
		defer results.Close()
		var trace, key, text, source, tail []byte
		var n int32
		var seq, held int64
		if _, qerr := pgx.ForEachRow(mustQuery(results), []any{&trace, &n}, func() error {
			made[string(trace)] = int(n)
			return nil
		}); qerr != nil {
			return qerr
		}
		if qerr := results.QueryRow().Scan(&refusedContexts); qerr != nil {
			return qerr
		}
		if _, qerr := pgx.ForEachRow(mustQuery(results), []any{&trace, &seq, &key, &text, &held}, func() error {
			c := contexts[string(trace)]
			if c == nil {
				c = &traceContextsRead{texts: map[string][]byte{}}
				contexts[string(trace)] = c
			}
			if held > 0 || key == nil {
				c.held = int(held)
				return nil
			}
			c.keys = append(c.keys, slices.Clone(key))
			c.texts[string(key)] = slices.Clone(text)
			return nil
		}); qerr != nil {
			return qerr
		}
		if _, qerr := pgx.ForEachRow(mustQuery(results), []any{&trace, &source, &tail}, func() error {
			taken = append(taken, traceSpan{waiting: waiting{source: slices.Clone(source), tail: slices.Clone(tail)}})
			takenKeys = append(takenKeys, string(trace))
			return nil
		}); qerr != nil {
			return qerr
		}
		return results.QueryRow().Scan(&refusedSpans)
	}()
	if err != nil {
		// The pipeline's transaction is rolled back whole.
		return nil, p.store.fail("cannot update the trace memory", err)
	}
	p.counters.countDropped(ctx, droppedMaxPerTrace, refusedContexts+refusedSpans)

	var out []derivedEvent
	produced := map[string]int{}
	attribute := func(trace string, w waiting) {
		c := contexts[trace]
		keys := c.keys
		if room, held := max(p.perTrace-made[trace]-produced[trace], 0), max(len(keys), c.held); held > room {
			p.counters.countDropped(ctx, droppedMaxPerTrace, int64(held-room))
			keys = keys[:min(room, len(keys))]
		}
		out = append(out, eventsOf(w, keys, func(key []byte) []byte { return c.texts[string(key)] })...)
		produced[trace] += len(keys)
	}
	for i, w := range taken {
		attribute(takenKeys[i], w.waiting)
	}
	for i := range spanTraces {
		if trace := string(spanTraces[i]); contexts[trace] != nil {
			attribute(trace, waiting{source: spanSources[i], tail: spanTails[i]})
		}
	}
	return out, nil
}

// traceContextsRead are a trace's contexts as read: keys in order, texts by key.
type traceContextsRead struct {
	keys  [][]byte
	texts map[string][]byte
	// held is how many contexts a trace whose events are all made holds (none read).
	held int
}

// mustQuery reads the next result of a batch as rows.
func mustQuery(results pgx.BatchResults) pgx.Rows {
	rows, _ := results.Query()
	return rows
}

// sweep purges traces past their window, a bounded batch at a time; spans that waited for an
// evaluation in vain count as unattributed.
func (p *postgresTraces) sweep(ctx context.Context) error {
	if err := p.store.ready(ctx); err != nil {
		return err
	}
	unattributed, err := p.store.purge(ctx, "flagsync_trace_waiting", "expires_at")
	p.counters.countUnattributed(ctx, unattributed)
	if err != nil {
		return err
	}
	if _, err = p.store.purge(ctx, "flagsync_trace_contexts", "expires_at"); err != nil {
		return err
	}
	_, err = p.store.purge(ctx, "flagsync_traces", "expires_at")
	return err
}

// close leaves the traces in the store for the other gateways (or this one, restarted).
func (p *postgresTraces) close(ctx context.Context) error { return p.store.close(ctx) }
