// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// localStore keeps delivery records for one collector: in the sending queue's storage extension
// when it has one (they survive a SIGKILL as the queue does), else in memory. Claims are this
// process's requests in flight; a record says sent (claimed, not confirmed) or delivered.
type localStore struct {
	mu       sync.Mutex
	inFlight map[itemKey]bool // value: the item was sent before (a claim found it sent)
	records  localRecords
}

type recordState byte

const (
	recordSent      recordState = 's'
	recordDelivered recordState = 'd'
)

// localRecords is where a local store keeps its records.
type localRecords interface {
	get(ctx context.Context, keys []itemKey) ([]recordState, error)
	set(ctx context.Context, keys []itemKey, state recordState) error
	remove(ctx context.Context, keys []itemKey) error
	sweep(ctx context.Context) error
	close(ctx context.Context) error
}

func newLocalStore(records localRecords) *localStore {
	return &localStore{inFlight: map[itemKey]bool{}, records: records}
}

func (s *localStore) claim(ctx context.Context, keys []itemKey) ([]claimState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	states, err := s.records.get(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]claimState, len(keys))
	var sent []itemKey
	for i, key := range keys {
		switch _, held := s.inFlight[key]; {
		case held:
			out[i] = heldElsewhere
		case states[i] == recordDelivered:
			out[i] = alreadyDelivered
		default:
			if states[i] == recordSent {
				out[i] = claimedAgain
			}
			s.inFlight[key] = states[i] == recordSent
			sent = append(sent, key)
		}
	}
	// Recorded as sent before the request: a SIGKILL mid-request leaves it counted when sent again.
	if err := s.records.set(ctx, sent, recordSent); err != nil {
		for _, key := range sent {
			delete(s.inFlight, key)
		}
		return nil, err
	}
	return out, nil
}

func (s *localStore) confirm(ctx context.Context, keys []itemKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range keys {
		delete(s.inFlight, key)
	}
	return s.records.set(ctx, keys, recordDelivered)
}

func (s *localStore) release(ctx context.Context, keys []itemKey, answered bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var forget []itemKey
	for _, key := range keys {
		// Answered and never sent unanswered before: FlagSync has no copy.
		if sentBefore := s.inFlight[key]; answered && !sentBefore {
			forget = append(forget, key)
		}
		delete(s.inFlight, key)
	}
	return s.records.remove(ctx, forget)
}

func (s *localStore) sweep(ctx context.Context) error { return s.records.sweep(ctx) }

func (s *localStore) close(ctx context.Context) error { return s.records.close(ctx) }

// memoryRecords keeps records in this process only, bounded in count.
type memoryRecords struct {
	mu      sync.Mutex
	records map[itemKey]memoryRecord
	ttl     time.Duration
	limit   int
}

type memoryRecord struct {
	state recordState
	at    time.Time
}

func newMemoryRecords(ttl time.Duration) *memoryRecords {
	// 1M items: about 50 MB.
	return &memoryRecords{records: map[itemKey]memoryRecord{}, ttl: ttl, limit: 1_000_000}
}

func (m *memoryRecords) get(_ context.Context, keys []itemKey) ([]recordState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]recordState, len(keys))
	for i, key := range keys {
		out[i] = m.records[key].state
	}
	return out, nil
}

func (m *memoryRecords) set(_ context.Context, keys []itemKey, state recordState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if len(m.records)+len(keys) > m.limit {
		m.sweepLocked(now)
	}
	for _, key := range keys {
		m.records[key] = memoryRecord{state: state, at: now}
	}
	return nil
}

func (m *memoryRecords) remove(_ context.Context, keys []itemKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, key := range keys {
		delete(m.records, key)
	}
	return nil
}

func (m *memoryRecords) sweep(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(time.Now())
	return nil
}

func (m *memoryRecords) sweepLocked(now time.Time) {
	for key, r := range m.records {
		if now.Sub(r.at) > m.ttl {
			delete(m.records, key)
		}
	}
	// Still full (a burst within the window): forget the oldest half rather than grow.
	if len(m.records) >= m.limit {
		cutoff := now.Add(-m.ttl / 2)
		for key, r := range m.records {
			if r.at.Before(cutoff) || len(m.records) >= m.limit {
				delete(m.records, key)
			}
		}
	}
}

func (m *memoryRecords) close(context.Context) error { return nil }

// storageRecords keeps records in a storage extension's client: key "i/" and the item key's
// bytes, value the state byte and unix millis.
type storageRecords struct {
	client storage.Client
	ttl    time.Duration
}

func storageKey(key itemKey) string { return "i/" + string(key[:]) }

func (s *storageRecords) get(ctx context.Context, keys []itemKey) ([]recordState, error) {
	out := make([]recordState, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ops := make([]*storage.Operation, len(keys))
	for i, key := range keys {
		ops[i] = storage.GetOperation(storageKey(key))
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return nil, err
	}
	for i, op := range ops {
		if len(op.Value) == 9 {
			out[i] = recordState(op.Value[0])
		}
	}
	return out, nil
}

func (s *storageRecords) set(ctx context.Context, keys []itemKey, state recordState) error {
	if len(keys) == 0 {
		return nil
	}
	value := make([]byte, 9)
	value[0] = byte(state)
	binary.BigEndian.PutUint64(value[1:], uint64(time.Now().UnixMilli()))
	ops := make([]*storage.Operation, len(keys))
	for i, key := range keys {
		ops[i] = storage.SetOperation(storageKey(key), value)
	}
	return s.client.Batch(ctx, ops...)
}

func (s *storageRecords) remove(ctx context.Context, keys []itemKey) error {
	if len(keys) == 0 {
		return nil
	}
	ops := make([]*storage.Operation, len(keys))
	for i, key := range keys {
		ops[i] = storage.DeleteOperation(storageKey(key))
	}
	return s.client.Batch(ctx, ops...)
}

// sweep deletes records older than the delivery memory (and the per-batch records of earlier
// versions, "b/..."), where the storage can list its keys.
func (s *storageRecords) sweep(ctx context.Context) error {
	walker, ok := s.client.(storage.Walker)
	if !ok {
		return nil
	}
	cutoff := uint64(time.Now().Add(-s.ttl).UnixMilli())
	return walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		old := len(key) > 2 && key[:2] == "b/"
		expired := len(key) > 2 && key[:2] == "i/" && (len(value) != 9 || binary.BigEndian.Uint64(value[1:]) < cutoff)
		if old || expired {
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		}
		return nil, nil
	})
}

func (s *storageRecords) close(ctx context.Context) error { return s.client.Close(ctx) }
