// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// Conversion happens before the queue: what the sending queue holds (and persists) is FlagSync's
// items, a few hundred bytes each, not the spans and log records they came from. A request is a
// list of chunks, each one FlagSync request (one route, at most max_batch_size items and
// max_batch_bytes bytes). Each item has a key fixed at conversion (item_keys.go), so the same item
// sent again (a request replayed after a restart, merged with others by a batcher, re-sent by an
// app or an agent to another gateway) is recognized by the delivery store, whatever its chunk.

// chunk is one FlagSync request to be: its route, its items' JSON, and their keys.
type chunk struct {
	route route
	items [][]byte
	// keys[i] is items[i]'s key; the zero key when its call cannot be told apart from others (a
	// span without ids): such an item is never recorded, always sent.
	keys  []itemKey
	bytes int
}

// flagsyncRequest is what the queue holds: chunks, posted in order.
type flagsyncRequest struct {
	chunks []chunk
	// refused is what FlagSync refused for good in an earlier push of this request (which left
	// the rest for a retry): the request ends as a permanent failure. Not persisted.
	refused error
}

var (
	_ xexporterhelper.Request             = (*flagsyncRequest)(nil)
	_ xexporterhelper.RequestErrorHandler = (*flagsyncRequest)(nil)
)

func (r *flagsyncRequest) ItemsCount() int {
	n := 0
	for _, c := range r.chunks {
		n += len(c.items)
	}
	return n
}

func (r *flagsyncRequest) BytesSize() int {
	n := 0
	for _, c := range r.chunks {
		n += c.bytes
	}
	return n
}

// MergeSplit appends other's chunks, then splits into requests of at most maxSize items (or
// bytes) by whole chunks; a chunk is cut only when it alone exceeds maxSize.
func (r *flagsyncRequest) MergeSplit(_ context.Context, maxSize int, sizer exporterhelper.RequestSizerType, other xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	chunks := append([]chunk(nil), r.chunks...)
	if other != nil {
		o, ok := other.(*flagsyncRequest)
		if !ok {
			return nil, errors.New("flagsync exporter: cannot merge a request of another kind")
		}
		chunks = append(chunks, o.chunks...)
	}
	if maxSize <= 0 || sizer == exporterhelper.RequestSizerTypeRequests {
		return []xexporterhelper.Request{&flagsyncRequest{chunks: chunks}}, nil
	}
	size := func(c chunk) int {
		if sizer == exporterhelper.RequestSizerTypeBytes {
			return c.bytes
		}
		return len(c.items)
	}
	var out []xexporterhelper.Request
	current := &flagsyncRequest{}
	used := 0
	for _, c := range chunks {
		for _, part := range cutChunk(c, maxSize, size) {
			if used > 0 && used+size(part) > maxSize {
				out = append(out, current)
				current, used = &flagsyncRequest{}, 0
			}
			current.chunks = append(current.chunks, part)
			used += size(part)
		}
	}
	if len(current.chunks) > 0 || len(out) == 0 {
		out = append(out, current)
	}
	return out, nil
}

// cutChunk splits a chunk larger than maxSize into parts that fit (the items keep their keys).
func cutChunk(c chunk, maxSize int, size func(chunk) int) []chunk {
	if size(c) <= maxSize || len(c.items) < 2 {
		return []chunk{c}
	}
	half := len(c.items) / 2
	first, second := c.slice(0, half), c.slice(half, len(c.items))
	return append(cutChunk(first, maxSize, size), cutChunk(second, maxSize, size)...)
}

// slice is the chunk of items[from:to], with their keys.
func (c chunk) slice(from, to int) chunk {
	out := chunk{route: c.route, items: c.items[from:to:to], keys: c.keys[from:to:to]}
	for _, item := range out.items {
		out.bytes += len(item)
	}
	return out
}

// undeliveredError carries what is left of a request after a failed push.
type undeliveredError struct {
	err  error
	rest *flagsyncRequest
}

func (e *undeliveredError) Error() string { return e.err.Error() }
func (e *undeliveredError) Unwrap() error { return e.err }

// OnError gives the retry only what was not delivered.
func (r *flagsyncRequest) OnError(err error) xexporterhelper.Request {
	var undelivered *undeliveredError
	if errors.As(err, &undelivered) && undelivered.rest != nil {
		return undelivered.rest
	}
	return r
}

// chunker builds the chunks of one route from converted items, in order.
type chunker struct {
	route    route
	scope    []byte
	maxItems int
	maxBytes int
	chunks   []chunk
	current  chunk
}

func (b *chunker) add(json, source []byte, at uint64) {
	// 64: the request's envelope (route name, sdkContext).
	if len(b.current.items) > 0 && (len(b.current.items) >= b.maxItems || 64+b.current.bytes+len(b.current.items)+len(json) > b.maxBytes) {
		b.flush()
	}
	b.current.items = append(b.current.items, json)
	b.current.keys = append(b.current.keys, newItemKey(b.scope, b.route, source, json, at))
	b.current.bytes += len(json)
}

func (b *chunker) flush() {
	if len(b.current.items) == 0 {
		return
	}
	b.current.route = b.route
	b.chunks = append(b.chunks, b.current)
	b.current = chunk{}
}

// requestEncoding persists requests in the sending queue's storage: a format marker, then per
// chunk the route and its items, each with its key, length-prefixed. Entries written before item
// keys (no marker, one key per chunk) are still read: their items get keys derived from the chunk's.
type requestEncoding struct{}

// encodingItemKeys marks the format with item keys: 0 (no chunk count of an entry worth
// persisting), then 2.
var encodingItemKeys = []byte{0, 2}

func (requestEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r := req.(*flagsyncRequest)
	b := binary.AppendUvarint(append([]byte(nil), encodingItemKeys...), uint64(len(r.chunks)))
	for _, c := range r.chunks {
		b = appendBytes(b, []byte(c.route))
		b = binary.AppendUvarint(b, uint64(len(c.items)))
		for i, item := range c.items {
			b = append(b, c.keys[i][:]...)
			b = appendBytes(b, item)
		}
	}
	return b, nil
}

func (requestEncoding) Unmarshal(data []byte) (context.Context, xexporterhelper.Request, error) {
	itemKeys := bytes.HasPrefix(data, encodingItemKeys)
	if itemKeys {
		data = data[len(encodingItemKeys):]
	}
	d := decoder{data: data}
	r := &flagsyncRequest{chunks: make([]chunk, d.count())}
	for i := range r.chunks {
		c := chunk{route: route(d.bytes())}
		var chunkKey []byte
		if !itemKeys {
			chunkKey = d.bytes()
		}
		c.items = make([][]byte, d.count())
		c.keys = make([]itemKey, len(c.items))
		for j := range c.items {
			if itemKeys {
				copy(c.keys[j][:], d.fixed(len(itemKey{})))
			} else if len(chunkKey) > 0 {
				c.keys[j] = legacyItemKey(chunkKey, j)
			}
			c.items[j] = d.bytes()
			c.bytes += len(c.items[j])
		}
		r.chunks[i] = c
	}
	if d.err != nil {
		return context.Background(), nil, d.err
	}
	return context.Background(), r, nil
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

type decoder struct {
	data []byte
	err  error
}

var errCorrupt = errors.New("flagsync exporter: corrupt queue entry")

func (d *decoder) count() int {
	n, used := binary.Uvarint(d.data)
	if used <= 0 || n > uint64(len(d.data)) {
		d.err, d.data = errCorrupt, nil
		return 0
	}
	d.data = d.data[used:]
	return int(n) //nolint:gosec // G115: at most len(d.data), checked above
}

func (d *decoder) bytes() []byte {
	return d.fixed(d.count())
}

func (d *decoder) fixed(n int) []byte {
	if n > len(d.data) {
		d.err, d.data = errCorrupt, nil
		return nil
	}
	v := d.data[:n:n]
	d.data = d.data[n:]
	return v
}
