// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// delivery posts a request's chunks to FlagSync's server track routes and turns the answers into
// what exporterhelper expects: nil, a permanent error, or a retryable one carrying only what is
// left (the queue, its persistence and the retries are exporterhelper's). It skips and counts
// chunks FlagSync already has, through the delivery progress (progress.go).
type delivery struct {
	// client and progress are set by the exporter's start.
	client                *flagsyncClient
	progress              progressStore
	configErrorRetryDelay time.Duration
	telemetry             *metadata.TelemetryBuilder
	reports               *reports
}

// kindAttributes are the kind attribute of a route's items, as the TypeScript self-metrics have it.
var kindAttributes = map[route]metric.MeasurementOption{
	routeImpressions: metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "impression"))),
	routeEvents:      metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "event"))),
}

// push posts a request's chunks in order. It returns nil when every item was delivered (or
// dropped as refused); else an error carrying the chunks left, which exporterhelper retries.
func (d *delivery) push(ctx context.Context, req xexporterhelper.Request) error {
	chunks := req.(*flagsyncRequest).chunks
	keys := make([]string, 0, len(chunks))
	for _, c := range chunks {
		if c.key != "" {
			keys = append(keys, c.key)
		}
	}
	known := map[string]batchState{}
	for i, state := range d.progress.states(ctx, keys) {
		if state != 0 {
			known[keys[i]] = state
		}
	}
	// A delivered chunk is recorded together with the next chunk's sent marker: one write each.
	delivered := ""
	// What FlagSync refused for good, in this push or an earlier one of the same request.
	refused := req.(*flagsyncRequest).refused
	for len(chunks) > 0 {
		c := chunks[0]
		result := d.send(ctx, c, known[c.key], &delivered)
		switch result.kind {
		case resultDelivered:
		case resultTooLarge, resultInvalid:
			// Too large (413), or refused for some item in it: halve the chunk until the refused items
			// stand alone; the rest is delivered.
			if len(c.items) > 1 {
				half := len(c.items) / 2
				chunks = append([]chunk{c.withItems(c.items[:half], "/1"), c.withItems(c.items[half:], "/2")}, chunks[1:]...)
				continue
			}
			refused = errors.Join(refused, d.refused(ctx, c.route, 1, result))
		default:
			// This chunk and the rest are retried; what was delivered is not sent again.
			d.progress.mark(ctx, delivered, "")
			return &undeliveredError{err: d.retryError(result), rest: &flagsyncRequest{chunks: chunks, refused: refused}}
		}
		chunks = chunks[1:]
	}
	// The whole request was answered. Its delivered markers stay for delivery_memory (the sweep
	// forgets them): the same request sent again by the app or an agent tier (a retry whose answer was
	// lost, a replayed persistent queue) delivers nothing twice.
	d.progress.mark(ctx, delivered, "")
	if refused != nil {
		// Dropped for good: exporterhelper counts the request as failed, not sent.
		return consumererror.NewPermanent(refused)
	}
	return nil
}

// send posts one chunk, unless FlagSync already has it (state, read before); the sent marker is
// written first, with the previous chunk's delivered one (*delivered), which it then replaces.
func (d *delivery) send(ctx context.Context, c chunk, state batchState, delivered *string) postResult {
	attrs := kindAttributes[c.route]
	switch state {
	case stateDelivered:
		d.telemetry.ExporterFlagsyncDuplicatesSkipped.Add(ctx, int64(len(c.items)), attrs)
		return postResult{kind: resultDelivered}
	case stateSent:
		// Sent before without an answer: FlagSync may have it already.
		d.telemetry.ExporterFlagsyncUnconfirmed.Add(ctx, int64(len(c.items)), attrs)
	}
	if c.key != "" || *delivered != "" {
		d.progress.mark(ctx, *delivered, c.key)
		*delivered = ""
	}
	result := d.client.post(ctx, c.route, requestBody(c.route, c.items))
	switch {
	case result.kind == resultDelivered:
		d.telemetry.ExporterFlagsyncDelivered.Add(ctx, int64(len(c.items)), attrs)
		*delivered = c.key
	case c.key != "" && !result.unconfirmed:
		// FlagSync answered: it did not store the chunk.
		d.progress.remove(ctx, []string{c.key})
	}
	return result
}

// refused counts (and reports once) items FlagSync refused for good; it returns the error that
// makes the request a permanent failure.
func (d *delivery) refused(ctx context.Context, r route, n int, result postResult) error {
	d.telemetry.ExporterFlagsyncFailed.Add(ctx, int64(n), kindAttributes[r])
	d.reports.once(fmt.Sprintf("refused:%d", result.status), func() {
		d.reports.logger.Error("flagsync exporter: FlagSync refused items as invalid; they are dropped (further ones are counted in otelcol_exporter_flagsync_failed)", zap.String("route", string(r)), zap.String("answer", result.message))
	})
	return fmt.Errorf("%d %s refused: %s", n, r, result.message)
}

// retryError makes exporterhelper retry: after Retry-After (capped), after a pause for a
// configuration problem (reported once, the data kept), else with its backoff.
func (d *delivery) retryError(result postResult) error {
	err := errors.New(result.message)
	if result.kind == resultConfig {
		d.reports.once(fmt.Sprintf("config:%d", result.status), func() {
			d.reports.logger.Error("flagsync exporter: FlagSync's answer means a configuration problem; the data is kept and retried until it is fixed", zap.String("answer", result.message))
		})
		return exporterhelper.NewThrottleRetry(err, d.configErrorRetryDelay)
	}
	if result.retryAfter > 0 {
		return exporterhelper.NewThrottleRetry(err, result.retryAfter)
	}
	return err
}
