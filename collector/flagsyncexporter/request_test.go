// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// testChunk makes a chunk of items keyed by their text (name: the first item's text, for chunksOf).
func testChunk(r route, items ...string) chunk {
	c := chunk{route: r}
	for _, item := range items {
		c.items = append(c.items, []byte(item))
		c.keys = append(c.keys, newItemKey(nil, r, []byte("source"), []byte(item), 1_795_000_000_000_000_000))
		c.bytes += len(item)
	}
	return c
}

// chunksOf names each request's chunks by their items.
func chunksOf(reqs []xexporterhelper.Request) [][]string {
	var out [][]string
	for _, req := range reqs {
		var names []string
		for _, c := range req.(*flagsyncRequest).chunks {
			names = append(names, string(bytes.Join(c.items, nil)))
		}
		out = append(out, names)
	}
	return out
}

func TestMergeSplitKeepsChunksWhole(t *testing.T) {
	a := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, "x", "y"), testChunk(routeEvents, "z")}}
	b := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, "p", "q", "r")}}
	merged, err := a.MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"xy", "z", "pqr"}}, chunksOf(merged))
	assert.Equal(t, 6, merged[0].ItemsCount())

	split, err := a.MergeSplit(context.Background(), 3, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"xy", "z"}, {"pqr"}}, chunksOf(split))

	// A chunk larger than the limit alone is cut; its items keep their keys.
	cut, err := b.MergeSplit(context.Background(), 2, exporterhelper.RequestSizerTypeItems, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"p"}, {"qr"}}, chunksOf(cut))
	assert.Equal(t, b.chunks[0].keys[1:], cut[1].(*flagsyncRequest).chunks[0].keys)

	bytes, err := a.MergeSplit(context.Background(), 2, exporterhelper.RequestSizerTypeBytes, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"xy"}, {"z"}}, chunksOf(bytes))
	assert.Equal(t, 3, a.BytesSize())
}

func TestRequestEncodingRoundTrip(t *testing.T) {
	anonymous := testChunk(routeEvents, `{"eventKey":"e"}`)
	anonymous.keys[0] = itemKey{}
	req := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, `{"flagKey":"f"}`, `{"flagKey":"g","ключ":"значение"}`), anonymous}}
	data, err := requestEncoding{}.Marshal(context.Background(), req)
	require.NoError(t, err)
	_, back, err := requestEncoding{}.Unmarshal(data)
	require.NoError(t, err)
	assert.Equal(t, req, back)

	for _, corrupt := range [][]byte{nil, data[:len(data)-3], data[:20], {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		_, _, err := requestEncoding{}.Unmarshal(corrupt)
		if len(corrupt) == 0 {
			require.Error(t, err)
			continue
		}
		assert.ErrorIs(t, err, errCorrupt)
	}
}

// A queue entry persisted before item keys (one key per chunk) is still read: its items get keys
// derived from their chunk's, the same on every read.
func TestRequestEncodingReadsEntriesWithChunkKeys(t *testing.T) {
	var old []byte
	old = binary.AppendUvarint(old, 1)
	old = appendBytes(old, []byte(routeImpressions))
	old = appendBytes(old, []byte("b/0123"))
	old = binary.AppendUvarint(old, 2)
	old = appendBytes(old, []byte(`{"flagKey":"f"}`))
	old = appendBytes(old, []byte(`{"flagKey":"g"}`))
	_, req, err := requestEncoding{}.Unmarshal(old)
	require.NoError(t, err)
	c := req.(*flagsyncRequest).chunks[0]
	assert.Equal(t, [][]byte{[]byte(`{"flagKey":"f"}`), []byte(`{"flagKey":"g"}`)}, c.items)
	assert.Equal(t, []itemKey{legacyItemKey([]byte("b/0123"), 0), legacyItemKey([]byte("b/0123"), 1)}, c.keys)
	assert.NotEqual(t, c.keys[0], c.keys[1])
}

// Chunks are made at conversion with max_batch_size and max_batch_bytes; items are keyed by their calls.
func TestConversionChunksByRouteWithStableKeys(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1", func(c *Config) { c.MaxBatchSize = 2 })
	first, err := h.exp.conversion.convertTraces(context.Background(), request("u1", "u2", "u3"))
	require.NoError(t, err)
	second, _ := h.exp.conversion.convertTraces(context.Background(), request("u1", "u2", "u3"))
	r := first.(*flagsyncRequest)
	require.Len(t, r.chunks, 4)
	assert.Equal(t, []route{routeImpressions, routeImpressions, routeEvents, routeEvents}, []route{r.chunks[0].route, r.chunks[1].route, r.chunks[2].route, r.chunks[3].route})
	assert.Equal(t, itemKeysOf(first), itemKeysOf(second))
	assert.Len(t, itemKeysOf(first), 6)
	other, _ := h.exp.conversion.convertTraces(context.Background(), requestFromSpan(7, "u1", "u2", "u3"))
	assert.NotEqual(t, r.chunks[0].keys[0], other.(*flagsyncRequest).chunks[0].keys[0], "the same items from other calls")
	anonymous, _ := h.exp.conversion.convertTraces(context.Background(), requestFromSpan(0, "u1"))
	assert.True(t, anonymous.(*flagsyncRequest).chunks[0].keys[0].isZero(), "spans without ids: never recorded")
}

// itemKeysOf lists a request's item keys, in order.
func itemKeysOf(req xexporterhelper.Request) []itemKey {
	var out []itemKey
	for _, c := range req.(*flagsyncRequest).chunks {
		out = append(out, c.keys...)
	}
	return out
}

// Item keys start with the call's time, so the records of one moment sit together in a store.
func TestItemKeysStartWithTheCallsTime(t *testing.T) {
	at := uint64(1_795_000_000_250_000_000)
	k := newItemKey(nil, routeEvents, []byte("s"), []byte(`{}`), at)
	assert.Equal(t, uint32(1_795_000_000), binary.BigEndian.Uint32(k[:4]))
	assert.NotEqual(t, k, newItemKey(nil, routeEvents, []byte("s2"), []byte(`{}`), at))
	assert.Equal(t, at/1e6*1e6, tailTime([]byte(`,"eventKey":"e","value":250,"timestamp":"2026-11-18T11:06:40.250Z"}`)))
	assert.Equal(t, uint64(0), tailTime([]byte(`,"eventKey":"e"}`)))
}
