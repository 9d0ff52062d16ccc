// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
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

// storageRecords keeps records in a storage extension's client. A delivered item has its own
// record (key "i/" and the item key's bytes; value the state byte and unix millis), found by its
// key. Items claimed and not yet settled are one record per claim ("s/" and a sequence; value unix
// millis and the items' keys): one write per claim, not per item, and a crash leaves it, so the
// items count as sent when claimed again after a restart (loaded at first use).
//
// Where the storage can list its keys (file_storage can), a confirmation is one record too ("d/",
// the same layout), its items kept in memory as delivered, and once mergeAt items are confirmed
// they become item records in one transaction. Item keys are random within their second, so item
// records written a request at a time made bbolt rewrite most of the current second's B-tree pages
// for every request (it copies each page a transaction changes); thousands at a time, each page
// once. A crash leaves the confirmation records, loaded with the claim records.
type storageRecords struct {
	client storage.Client
	ttl    time.Duration
	// merges: the storage can list its keys, so confirmation records are found after a restart.
	merges  bool
	mergeAt int

	mu     sync.Mutex
	loaded bool
	// sentIn is the claim record of each item sent and not settled; left what each record still holds.
	sentIn map[itemKey]string
	left   map[string]int
	// confirmedIn is the confirmation record of each delivered item not yet in an item record;
	// confirmedAt the unix millis of each confirmation record.
	confirmedIn map[itemKey]string
	confirmedAt map[string]uint64
	// run and seq name claim records apart from those of other runs.
	run string
	seq uint64
}

func storageKey(key itemKey) string { return "i/" + string(key[:]) }

func newStorageRecords(client storage.Client, ttl time.Duration) *storageRecords {
	run := make([]byte, 4)
	_, _ = rand.Read(run)
	_, merges := client.(storage.Walker)
	return &storageRecords{
		client: client, ttl: ttl, merges: merges, mergeAt: 16_384,
		sentIn: map[itemKey]string{}, left: map[string]int{},
		confirmedIn: map[itemKey]string{}, confirmedAt: map[string]uint64{},
		run: hex.EncodeToString(run),
	}
}

// load reads the claim and confirmation records a previous run left (it crashed, or it stopped
// before merging).
func (s *storageRecords) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	if walker, ok := s.client.(storage.Walker); ok {
		err := walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
			switch {
			case len(key) <= 2 || len(value) < 8:
			case key[:2] == "s/":
				s.track(key, value[8:])
			case key[:2] == "d/":
				s.noteConfirmed(key, binary.BigEndian.Uint64(value), value[8:])
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
	}
	s.loaded = true
	return nil
}

// packedRecord is a claim or confirmation record: its name and its value (unix millis, then the
// items' keys).
func (s *storageRecords) packedRecord(prefix string, now uint64, keys []itemKey) (string, []byte) {
	s.seq++
	record := fmt.Sprintf("%s%016x%s%08x", prefix, now, s.run, s.seq)
	value := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(keys)*len(itemKey{})), now)
	for _, key := range keys {
		value = append(value, key[:]...)
	}
	return record, value
}

// track notes a claim record's items as sent; ops (to write with it) drop the records it empties.
func (s *storageRecords) track(record string, packed []byte) (ops []*storage.Operation) {
	n := 0
	for i := 0; i+len(itemKey{}) <= len(packed); i += len(itemKey{}) {
		var key itemKey
		copy(key[:], packed[i:])
		ops = append(ops, s.settle(key)...)
		s.sentIn[key] = record
		n++
	}
	s.left[record] += n
	return ops
}

// noteConfirmed notes a confirmation record's items as delivered.
func (s *storageRecords) noteConfirmed(record string, at uint64, packed []byte) {
	for i := 0; i+len(itemKey{}) <= len(packed); i += len(itemKey{}) {
		s.confirmedIn[itemKey(packed[i:i+len(itemKey{})])] = record
	}
	s.confirmedAt[record] = at
}

// settle forgets that an item is sent; it returns the deletion of its claim record once empty.
func (s *storageRecords) settle(key itemKey) []*storage.Operation {
	record, ok := s.sentIn[key]
	if !ok {
		return nil
	}
	delete(s.sentIn, key)
	s.left[record]--
	if s.left[record] > 0 {
		return nil
	}
	delete(s.left, record)
	return []*storage.Operation{storage.DeleteOperation(record)}
}

func (s *storageRecords) get(ctx context.Context, keys []itemKey) ([]recordState, error) {
	out := make([]recordState, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	// Items confirmed and not merged are known delivered: only the others are read.
	ops := make([]*storage.Operation, 0, len(keys))
	at := make([]int, 0, len(keys))
	for i, key := range keys {
		if _, confirmed := s.confirmedIn[key]; confirmed {
			out[i] = recordDelivered
			continue
		}
		ops = append(ops, storage.GetOperation(storageKey(key)))
		at = append(at, i)
	}
	if len(ops) > 0 {
		if err := s.client.Batch(ctx, ops...); err != nil {
			return nil, err
		}
	}
	for j, op := range ops {
		i := at[j]
		if len(op.Value) == 9 {
			out[i] = recordState(op.Value[0])
		} else if _, sent := s.sentIn[keys[i]]; sent {
			out[i] = recordSent
		}
	}
	return out, nil
}

func (s *storageRecords) set(ctx context.Context, keys []itemKey, state recordState) error {
	if len(keys) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := uint64(time.Now().UnixMilli())
	if state == recordSent {
		record, value := s.packedRecord("s/", now, keys)
		ops := append(s.track(record, value[8:]), storage.SetOperation(record, value))
		return s.client.Batch(ctx, ops...)
	}
	if s.merges && state == recordDelivered {
		record, value := s.packedRecord("d/", now, keys)
		ops := []*storage.Operation{storage.SetOperation(record, value)}
		for _, key := range keys {
			ops = append(ops, s.settle(key)...)
		}
		if err := s.client.Batch(ctx, ops...); err != nil {
			return err
		}
		s.noteConfirmed(record, now, value[8:])
		if len(s.confirmedIn) >= s.mergeAt {
			// Recorded either way: a failed merge is tried again at the next confirmation.
			_ = s.merge(ctx)
		}
		return nil
	}
	value := itemRecord(state, now)
	ops := make([]*storage.Operation, 0, len(keys)+1)
	for _, key := range keys {
		ops = append(ops, storage.SetOperation(storageKey(key), value))
		ops = append(ops, s.settle(key)...)
	}
	return s.client.Batch(ctx, ops...)
}

// itemRecord is an item record's value: its state and unix millis.
func itemRecord(state recordState, at uint64) []byte {
	value := make([]byte, 9)
	value[0] = byte(state)
	binary.BigEndian.PutUint64(value[1:], at)
	return value
}

// merge writes the confirmed items as item records, in key order, and deletes their confirmation
// records, in one transaction (s.mu held).
func (s *storageRecords) merge(ctx context.Context) error {
	if len(s.confirmedIn) == 0 {
		return nil
	}
	keys := make([]itemKey, 0, len(s.confirmedIn))
	for key := range s.confirmedIn {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b itemKey) int { return bytes.Compare(a[:], b[:]) })
	values := make(map[string][]byte, len(s.confirmedAt))
	ops := make([]*storage.Operation, 0, len(keys)+len(s.confirmedAt))
	for record, at := range s.confirmedAt {
		values[record] = itemRecord(recordDelivered, at)
		ops = append(ops, storage.DeleteOperation(record))
	}
	for _, key := range keys {
		ops = append(ops, storage.SetOperation(storageKey(key), values[s.confirmedIn[key]]))
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return err
	}
	clear(s.confirmedIn)
	clear(s.confirmedAt)
	return nil
}

func (s *storageRecords) remove(ctx context.Context, keys []itemKey) error {
	if len(keys) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := make([]*storage.Operation, 0, len(keys))
	for _, key := range keys {
		ops = append(ops, storage.DeleteOperation(storageKey(key)))
		ops = append(ops, s.settle(key)...)
	}
	return s.client.Batch(ctx, ops...)
}

// sweep merges what is confirmed (a quiet collector merges at least this often), then deletes
// records older than the delivery memory (and the per-batch records of earlier versions, "b/..."),
// where the storage can list its keys.
func (s *storageRecords) sweep(ctx context.Context) error {
	walker, ok := s.client.(storage.Walker)
	if !ok {
		return nil
	}
	s.mu.Lock()
	err := s.merge(ctx)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	cutoff := uint64(time.Now().Add(-s.ttl).UnixMilli())
	var abandoned []string
	err = walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		var expired bool
		switch {
		case len(key) < 2:
		case key[:2] == "b/":
			expired = true
		case key[:2] == "i/":
			expired = len(value) != 9 || binary.BigEndian.Uint64(value[1:]) < cutoff
		case key[:2] == "s/", key[:2] == "d/":
			expired = len(value) < 8 || binary.BigEndian.Uint64(value) < cutoff
			if expired {
				abandoned = append(abandoned, key)
			}
		}
		if expired {
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		}
		return nil, nil
	})
	if len(abandoned) > 0 {
		s.mu.Lock()
		for key, record := range s.sentIn {
			if slices.Contains(abandoned, record) {
				delete(s.sentIn, key)
				delete(s.left, record)
			}
		}
		for key, record := range s.confirmedIn {
			if slices.Contains(abandoned, record) {
				delete(s.confirmedIn, key)
				delete(s.confirmedAt, record)
			}
		}
		s.mu.Unlock()
	}
	return err
}

// close merges what is confirmed (a restart then has nothing to load), then closes the client.
func (s *storageRecords) close(ctx context.Context) error {
	s.mu.Lock()
	_ = s.merge(ctx) // else loaded from the confirmation records at the next start
	s.mu.Unlock()
	return s.client.Close(ctx)
}
