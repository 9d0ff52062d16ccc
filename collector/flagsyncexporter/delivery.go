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
// left (the queue, its persistence and the retries are exporterhelper's). Through the delivery
// store (delivery_store.go) it claims each item before sending it, skips and counts items FlagSync
// already has, and leaves for later items another sender holds.
type delivery struct {
	// client and store are set by the exporter's start.
	client                *flagsyncClient
	store                 deliveryStore
	configErrorRetryDelay time.Duration
	// heldRetryDelay is how long items another sender holds wait before they are claimed again.
	heldRetryDelay time.Duration
	telemetry      *metadata.TelemetryBuilder
	reports        *reports
}

// kindAttributes are the kind attribute of a route's items, as the TypeScript self-metrics have it.
var kindAttributes = map[route]metric.MeasurementOption{
	routeImpressions: metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "impression"))),
	routeEvents:      metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "event"))),
}

// push posts a request's chunks in order. It returns nil when every item was delivered (or
// dropped as refused, or skipped as delivered before); else an error carrying what is left,
// which exporterhelper retries.
func (d *delivery) push(ctx context.Context, req xexporterhelper.Request) error {
	chunks := req.(*flagsyncRequest).chunks
	// What FlagSync refused for good, in this push or an earlier one of the same request.
	refused := req.(*flagsyncRequest).refused
	// Items another sender holds: claimed again after a pause.
	var held []chunk
	// The same item twice in one request (a request merged with its own copy) is sent once.
	seen := map[itemKey]struct{}{}
	for len(chunks) > 0 {
		send, wait, err := d.claim(ctx, chunks[0], seen)
		if err != nil {
			return &undeliveredError{err: d.storeError(err), rest: &flagsyncRequest{chunks: append(chunks, held...), refused: refused}}
		}
		if len(wait.items) > 0 {
			held = append(held, wait)
		}
		chunks = chunks[1:]
		if len(send.items) == 0 {
			continue
		}
		result := d.send(ctx, send)
		switch result.kind {
		case resultDelivered:
		case resultTooLarge, resultInvalid:
			// Too large (413), or refused for some item in it: halve the chunk until the refused items
			// stand alone; the rest is delivered.
			if len(send.items) > 1 {
				half := len(send.items) / 2
				for _, key := range send.keys {
					delete(seen, key)
				}
				chunks = append([]chunk{send.slice(0, half), send.slice(half, len(send.items))}, chunks...)
				continue
			}
			refused = errors.Join(refused, d.refused(ctx, send.route, 1, result))
		default:
			// This chunk and the rest are retried; what was delivered is not sent again.
			rest := append(append([]chunk{send}, chunks...), held...)
			return &undeliveredError{err: d.retryError(result), rest: &flagsyncRequest{chunks: rest, refused: refused}}
		}
	}
	if len(held) > 0 {
		err := exporterhelper.NewThrottleRetry(errors.New("items are being sent by another gateway of the delivery store"), d.heldRetryDelay)
		return &undeliveredError{err: err, rest: &flagsyncRequest{chunks: held, refused: refused}}
	}
	if refused != nil {
		// Dropped for good: exporterhelper counts the request as failed, not sent.
		return consumererror.NewPermanent(refused)
	}
	return nil
}

// claim splits a chunk into what this push sends (claimed items, and items without a key) and
// what another sender holds; items FlagSync has, or met before in this push, are counted and left out.
func (d *delivery) claim(ctx context.Context, c chunk, seen map[itemKey]struct{}) (send, wait chunk, err error) {
	var keys []itemKey
	var at []int
	for i, key := range c.keys {
		if key.isZero() {
			continue
		}
		if _, dup := seen[key]; !dup {
			seen[key] = struct{}{}
			keys = append(keys, key)
			at = append(at, i)
		}
	}
	var states []claimState
	if len(keys) > 0 {
		if states, err = d.store.claim(ctx, keys); err != nil {
			for _, key := range keys {
				delete(seen, key)
			}
			return chunk{}, chunk{}, err
		}
	}
	send, wait = chunk{route: c.route}, chunk{route: c.route}
	attrs := kindAttributes[c.route]
	var skipped, again int64
	next := 0
	for i, item := range c.items {
		state := claimed
		switch {
		case c.keys[i].isZero():
		case next < len(at) && at[next] == i:
			state = states[next]
			next++
		default:
			state = alreadyDelivered // met before in this push
		}
		switch state {
		case alreadyDelivered:
			skipped++
			continue
		case heldElsewhere:
			wait.items, wait.keys = append(wait.items, item), append(wait.keys, c.keys[i])
			wait.bytes += len(item)
			continue
		case claimedAgain:
			again++
		}
		send.items, send.keys = append(send.items, item), append(send.keys, c.keys[i])
		send.bytes += len(item)
	}
	if skipped > 0 {
		d.telemetry.ExporterFlagsyncDuplicatesSkipped.Add(ctx, skipped, attrs)
	}
	if again > 0 {
		// Sent before without an answer: FlagSync may have them already.
		d.telemetry.ExporterFlagsyncUnconfirmed.Add(ctx, again, attrs)
	}
	return send, wait, nil
}

// send posts one claimed chunk and settles its claims with FlagSync's answer.
func (d *delivery) send(ctx context.Context, c chunk) postResult {
	result := d.client.post(ctx, c.route, requestBody(c.route, c.items))
	keys := make([]itemKey, 0, len(c.keys))
	for _, key := range c.keys {
		if !key.isZero() {
			keys = append(keys, key)
		}
	}
	var err error
	switch {
	case result.kind == resultDelivered:
		d.telemetry.ExporterFlagsyncDelivered.Add(ctx, int64(len(c.items)), kindAttributes[c.route])
		if len(keys) > 0 {
			err = d.store.confirm(context.WithoutCancel(ctx), keys)
		}
	case len(keys) > 0:
		// Answered: FlagSync did not store the chunk; else it may have.
		err = d.store.release(context.WithoutCancel(ctx), keys, !result.unconfirmed)
	}
	if err != nil {
		d.reports.once("store:settle", func() {
			d.reports.logger.Warn("flagsync exporter: the delivery store could not record FlagSync's answer; those items count as unconfirmed if sent again", zap.Error(err))
		})
	}
	return result
}

// storeError makes a delivery store failure retryable, reported once: the data is kept.
func (d *delivery) storeError(err error) error {
	d.reports.once("store:claim", func() {
		d.reports.logger.Error("flagsync exporter: the delivery store failed; the data is kept and retried", zap.Error(err))
	})
	return fmt.Errorf("delivery store: %w", err)
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
