// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"sync"
)

// group joins the store operations of concurrent callers into one (a group commit): a caller
// that finds none running does everything queued so far in one round trip, then what queued
// meanwhile, while the others wait for the operation holding their keys. Each caller gets its
// own keys' results, as from an operation of its own, but a gateway's concurrent requests share
// the round trips to the store.
type group[R any] struct {
	// run does one operation on keys (several callers' keys, in order): one result per key.
	run     func(ctx context.Context, keys []itemKey) ([]R, error)
	mu      sync.Mutex
	pending []groupCall[R]
	running bool
}

type groupCall[R any] struct {
	keys []itemKey
	done chan groupResult[R]
}

type groupResult[R any] struct {
	results []R
	err     error
}

func (g *group[R]) do(ctx context.Context, keys []itemKey) ([]R, error) {
	done := make(chan groupResult[R], 1)
	g.mu.Lock()
	g.pending = append(g.pending, groupCall[R]{keys: keys, done: done})
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		g.drain(ctx)
	}
	r := <-done
	return r.results, r.err
}

// drain runs until nothing is queued; every caller gets its part of the operation with its keys.
func (g *group[R]) drain(ctx context.Context) {
	for {
		g.mu.Lock()
		calls := g.pending
		g.pending = nil
		if len(calls) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		keys := calls[0].keys
		if len(calls) > 1 {
			keys = nil
			for _, c := range calls {
				keys = append(keys, c.keys...)
			}
		}
		// Others' keys too: the leader's cancellation must not fail their operation.
		results, err := g.run(context.WithoutCancel(ctx), keys)
		at := 0
		for _, c := range calls {
			r := groupResult[R]{err: err}
			if err == nil {
				r.results = results[at : at+len(c.keys) : at+len(c.keys)]
			}
			at += len(c.keys)
			c.done <- r
		}
	}
}
