// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

func testChunk(r route, key string, items ...string) chunk {
	c := chunk{route: r, key: key}
	for _, item := range items {
		c.items = append(c.items, []byte(item))
		c.bytes += len(item)
	}
	return c
}

func chunksOf(reqs []xexporterhelper.Request) [][]string {
	var out [][]string
	for _, req := range reqs {
		var keys []string
		for _, c := range req.(*flagsyncRequest).chunks {
			keys = append(keys, c.key)
		}
		out = append(out, keys)
	}
	return out
}

func TestMergeSplitKeepsChunksWhole(t *testing.T) {
	a := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, "a1", "x", "y"), testChunk(routeEvents, "a2", "z")}}
	b := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, "b1", "p", "q", "r")}}
	merged, err := a.MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a1", "a2", "b1"}}, chunksOf(merged))
	assert.Equal(t, 6, merged[0].ItemsCount())

	split, err := a.MergeSplit(context.Background(), 3, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a1", "a2"}, {"b1"}}, chunksOf(split))

	// A chunk larger than the limit alone is cut, under keys derived from its own.
	cut, err := b.MergeSplit(context.Background(), 2, exporterhelper.RequestSizerTypeItems, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"b1/1"}, {"b1/2"}}, chunksOf(cut))
	again, _ := b.MergeSplit(context.Background(), 2, exporterhelper.RequestSizerTypeItems, nil)
	assert.Equal(t, chunksOf(cut), chunksOf(again), "the same cut gives the same keys")

	bytes, err := a.MergeSplit(context.Background(), 2, exporterhelper.RequestSizerTypeBytes, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a1"}, {"a2"}}, chunksOf(bytes))
	assert.Equal(t, 3, a.BytesSize())
}

func TestRequestEncodingRoundTrip(t *testing.T) {
	req := &flagsyncRequest{chunks: []chunk{testChunk(routeImpressions, "b/0123", `{"flagKey":"f"}`, `{"flagKey":"g","ключ":"значение"}`), testChunk(routeEvents, "", `{"eventKey":"e"}`)}}
	data, err := requestEncoding{}.Marshal(context.Background(), req)
	require.NoError(t, err)
	_, back, err := requestEncoding{}.Unmarshal(data)
	require.NoError(t, err)
	assert.Equal(t, req, back)

	for _, corrupt := range [][]byte{nil, data[:len(data)-3], {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		_, _, err := requestEncoding{}.Unmarshal(corrupt)
		if len(corrupt) == 0 {
			require.Error(t, err)
			continue
		}
		assert.ErrorIs(t, err, errCorrupt)
	}
}

// Chunks are made at conversion with max_batch_size and max_batch_bytes, keyed by their calls.
func TestConversionChunksByRouteWithStableKeys(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1", func(c *Config) { c.MaxBatchSize = 2 })
	first, err := h.exp.conversion.convertTraces(context.Background(), request("u1", "u2", "u3"))
	require.NoError(t, err)
	second, _ := h.exp.conversion.convertTraces(context.Background(), request("u1", "u2", "u3"))
	r := first.(*flagsyncRequest)
	require.Len(t, r.chunks, 4)
	assert.Equal(t, []route{routeImpressions, routeImpressions, routeEvents, routeEvents}, []route{r.chunks[0].route, r.chunks[1].route, r.chunks[2].route, r.chunks[3].route})
	assert.Equal(t, chunksOf([]xexporterhelper.Request{first}), chunksOf([]xexporterhelper.Request{second}))
	other, _ := h.exp.conversion.convertTraces(context.Background(), requestFromSpan(7, "u1", "u2", "u3"))
	assert.NotEqual(t, r.chunks[0].key, other.(*flagsyncRequest).chunks[0].key, "the same items from other calls")
	anonymous, _ := h.exp.conversion.convertTraces(context.Background(), requestFromSpan(0, "u1"))
	assert.Empty(t, anonymous.(*flagsyncRequest).chunks[0].key, "spans without ids: never recorded")
}
