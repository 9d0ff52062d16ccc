// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// Conversion happens before the queue: what the sending queue holds (and persists) is FlagSync's
// items, a few hundred bytes each, not the spans and log records they came from. A request is a
// list of chunks, each one FlagSync request (one route, at most max_batch_size items and
// max_batch_bytes bytes) with a key fixed at conversion, so a request replayed after a restart,
// or merged with others by the queue's batcher, posts the same chunks under the same keys.

// chunk is one FlagSync request to be: its route, its items' JSON, and its key.
type chunk struct {
	route route
	// key names the chunk by the calls its items came from (chunkKey); "" when an item's call
	// cannot be told apart from others (a span without ids): such a chunk is never recorded.
	key   string
	items [][]byte
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

// cutChunk splits a chunk larger than maxSize into parts that fit, each under a key derived from
// the chunk's (the same cut of the same chunk gives the same keys).
func cutChunk(c chunk, maxSize int, size func(chunk) int) []chunk {
	if size(c) <= maxSize || len(c.items) < 2 {
		return []chunk{c}
	}
	half := len(c.items) / 2
	first, second := c.withItems(c.items[:half], "/1"), c.withItems(c.items[half:], "/2")
	return append(cutChunk(first, maxSize, size), cutChunk(second, maxSize, size)...)
}

func (c chunk) withItems(items [][]byte, suffix string) chunk {
	out := chunk{route: c.route, items: items}
	if c.key != "" {
		out.key = c.key + suffix
	}
	for _, item := range items {
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
	maxItems int
	maxBytes int
	chunks   []chunk
	current  chunk
	sources  [][]byte
}

func (b *chunker) add(json, source []byte) {
	// 64: the request's envelope (route name, sdkContext).
	if len(b.current.items) > 0 && (len(b.current.items) >= b.maxItems || 64+b.current.bytes+len(b.current.items)+len(json) > b.maxBytes) {
		b.flush()
	}
	b.current.items = append(b.current.items, json)
	b.current.bytes += len(json)
	b.sources = append(b.sources, source)
}

func (b *chunker) flush() {
	if len(b.current.items) == 0 {
		return
	}
	b.current.route = b.route
	b.current.key = chunkKey(b.route, b.current.items, b.sources)
	b.chunks = append(b.chunks, b.current)
	b.current, b.sources = chunk{}, nil
}

// chunkKey names a chunk by where its items came from and what they are: the same calls give the
// same key, two different calls never do (their spans or log records differ even when the items
// are the same text). "" when an item has no source identity.
func chunkKey(r route, items, sources [][]byte) string {
	h := sha256.New()
	h.Write([]byte(r))
	for i, item := range items {
		if sources[i] == nil {
			return ""
		}
		h.Write(sources[i])
		h.Write(item)
		h.Write([]byte{0})
	}
	return "b/" + hex.EncodeToString(h.Sum(nil)[:16])
}

// requestEncoding persists requests in the sending queue's storage: per chunk, the route, the
// key and the items, each length-prefixed.
type requestEncoding struct{}

func (requestEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r := req.(*flagsyncRequest)
	b := binary.AppendUvarint(nil, uint64(len(r.chunks)))
	for _, c := range r.chunks {
		b = appendBytes(b, []byte(c.route))
		b = appendBytes(b, []byte(c.key))
		b = binary.AppendUvarint(b, uint64(len(c.items)))
		for _, item := range c.items {
			b = appendBytes(b, item)
		}
	}
	return b, nil
}

func (requestEncoding) Unmarshal(data []byte) (context.Context, xexporterhelper.Request, error) {
	d := decoder{data: data}
	r := &flagsyncRequest{chunks: make([]chunk, d.count())}
	for i := range r.chunks {
		c := chunk{route: route(d.bytes()), key: string(d.bytes())}
		c.items = make([][]byte, d.count())
		for j := range c.items {
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
	n := d.count()
	if n > len(d.data) {
		d.err, d.data = errCorrupt, nil
		return nil
	}
	v := d.data[:n:n]
	d.data = d.data[n:]
	return v
}
