// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// Delivery progress: FlagSync's API has no idempotency key, so each chunk is remembered, by its
// key, as sent (before the request) and then as delivered (after FlagSync's 2xx). A chunk sent
// again (a retry after a timeout, or a whole request sent again by the persistent queue after a
// collector restart) is skipped if it was delivered, and counted as possibly arriving twice if it
// was sent without an answer. Markers live in the sending queue's storage extension when it has
// one (they survive a SIGKILL like the queue does), else in memory. Storage operations are
// batched: one read for a request's chunks, then one write per chunk (the previous chunk
// delivered and this one sent, together).

type batchState byte

const (
	stateSent      batchState = 's'
	stateDelivered batchState = 'd'
)

type progressStore interface {
	// states reads the markers of keys (0 where there is none).
	states(ctx context.Context, keys []string) []batchState
	// mark records delivered as delivered and sent as sent, either may be "", in one write.
	mark(ctx context.Context, delivered, sent string)
	remove(ctx context.Context, keys []string)
	// sweep forgets markers older than the delivery memory.
	sweep(ctx context.Context)
	close(ctx context.Context) error
}

// memoryProgress keeps markers in this process only, bounded in count.
type memoryProgress struct {
	mu      sync.Mutex
	markers map[string]memoryMarker
	ttl     time.Duration
	limit   int
}

type memoryMarker struct {
	state batchState
	at    time.Time
}

func newMemoryProgress(ttl time.Duration) *memoryProgress {
	return &memoryProgress{markers: map[string]memoryMarker{}, ttl: ttl, limit: 100_000}
}

func (m *memoryProgress) states(_ context.Context, keys []string) []batchState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]batchState, len(keys))
	for i, key := range keys {
		out[i] = m.markers[key].state
	}
	return out
}

func (m *memoryProgress) mark(_ context.Context, delivered, sent string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.markers) >= m.limit {
		m.sweepLocked(time.Now())
	}
	now := time.Now()
	if delivered != "" {
		m.markers[delivered] = memoryMarker{state: stateDelivered, at: now}
	}
	if sent != "" {
		m.markers[sent] = memoryMarker{state: stateSent, at: now}
	}
}

func (m *memoryProgress) remove(_ context.Context, keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, key := range keys {
		delete(m.markers, key)
	}
}

func (m *memoryProgress) sweep(context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(time.Now())
}

func (m *memoryProgress) sweepLocked(now time.Time) {
	for key, marker := range m.markers {
		if now.Sub(marker.at) > m.ttl {
			delete(m.markers, key)
		}
	}
	// Still full (a burst within the window): forget the oldest half rather than grow.
	if len(m.markers) >= m.limit {
		cutoff := now.Add(-m.ttl / 2)
		for key, marker := range m.markers {
			if marker.at.Before(cutoff) || len(m.markers) >= m.limit {
				delete(m.markers, key)
			}
		}
	}
}

func (m *memoryProgress) close(context.Context) error { return nil }

// storageProgress keeps markers in a storage extension's client (value: state byte, unix millis).
type storageProgress struct {
	client storage.Client
	ttl    time.Duration
	logger *zap.Logger
	warned sync.Once
}

func (s *storageProgress) states(ctx context.Context, keys []string) []batchState {
	out := make([]batchState, len(keys))
	ops := make([]*storage.Operation, len(keys))
	for i, key := range keys {
		ops[i] = storage.GetOperation(key)
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		s.warn(err)
		return out
	}
	for i, op := range ops {
		if len(op.Value) == 9 {
			out[i] = batchState(op.Value[0])
		}
	}
	return out
}

func (s *storageProgress) mark(ctx context.Context, delivered, sent string) {
	var ops []*storage.Operation
	now := uint64(time.Now().UnixMilli())
	for _, m := range []struct {
		key   string
		state batchState
	}{{delivered, stateDelivered}, {sent, stateSent}} {
		if m.key == "" {
			continue
		}
		value := make([]byte, 9)
		value[0] = byte(m.state)
		binary.BigEndian.PutUint64(value[1:], now)
		ops = append(ops, storage.SetOperation(m.key, value))
	}
	if len(ops) == 0 {
		return
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		s.warn(err)
	}
}

func (s *storageProgress) remove(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	ops := make([]*storage.Operation, len(keys))
	for i, key := range keys {
		ops[i] = storage.DeleteOperation(key)
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		s.warn(err)
	}
}

// sweep deletes markers older than the delivery memory, where the storage can list its keys.
func (s *storageProgress) sweep(ctx context.Context) {
	walker, ok := s.client.(storage.Walker)
	if !ok {
		return
	}
	cutoff := uint64(time.Now().Add(-s.ttl).UnixMilli())
	err := walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		if len(key) > 2 && key[:2] == "b/" && (len(value) != 9 || binary.BigEndian.Uint64(value[1:]) < cutoff) {
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		}
		return nil, nil
	})
	if err != nil {
		s.warn(err)
	}
}

func (s *storageProgress) close(ctx context.Context) error {
	return s.client.Close(ctx)
}

// warn reports a storage failure once: delivery goes on; only restart de-duplication is affected.
func (s *storageProgress) warn(err error) {
	s.warned.Do(func() {
		s.logger.Warn("flagsync exporter: the storage extension failed; delivery continues, but batches sent again after a restart may not be recognized", zap.Error(err))
	})
}
