// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// itemKey names one FlagSync item by where it came from and what it is: the same call gives the
// same key on every gateway, two different calls never do (their spans or log records differ even
// when the items are the same text). The zero key: an item whose call cannot be told apart.
// It starts with the call's time (unix seconds, big-endian), then 12 bytes of a SHA-256: the
// records of items of the same moment sit side by side in a store's index (B-tree pages written
// once per batch, not once per item).
type itemKey [16]byte

func (k itemKey) isZero() bool { return k == itemKey{} }

// newItemKey is the call's time (at: unix nanoseconds) and a hash of the store scope, the
// route, the item's source and its JSON.
func newItemKey(scope []byte, r route, source, json []byte, at uint64) itemKey {
	var k itemKey
	if source == nil {
		return k
	}
	h := sha256.New()
	h.Write(scope)
	h.Write([]byte(r))
	h.Write([]byte{0})
	h.Write(source)
	h.Write([]byte{0})
	h.Write(json)
	binary.BigEndian.PutUint32(k[:4], uint32(at/uint64(time.Second))) //nolint:gosec // G115: unix seconds fit until 2106
	copy(k[4:], h.Sum(nil))
	return k
}

// tailTime reads the time of a derived event from the end of its JSON (`"timestamp":"<ms>Z"}`,
// as derive writes it); 0 if it cannot.
func tailTime(tail []byte) uint64 {
	const field = `"timestamp":"`
	at := bytes.LastIndex(tail, []byte(field))
	if at < 0 {
		return 0
	}
	text, _, found := bytes.Cut(tail[at+len(field):], []byte(`"`))
	if !found {
		return 0
	}
	t, err := time.Parse("2006-01-02T15:04:05.000Z", string(text))
	if err != nil || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// legacyItemKey keys the items of a queue entry persisted before item keys, from its chunk's key.
func legacyItemKey(chunkKey []byte, index int) itemKey {
	var k itemKey
	sum := sha256.Sum256(append(append([]byte(nil), chunkKey...), "/"+strconv.Itoa(index)...))
	copy(k[:], sum[:])
	return k
}

// storeScope tells apart the FlagSync environments a store may record for (the endpoint and the
// SDK key, hashed: the key itself is never stored): an item delivered to one is not taken for
// delivered to another.
func storeScope(cfg *Config) []byte {
	sum := sha256.Sum256([]byte(cfg.ClientConfig.Endpoint + "\x00" + string(cfg.SDKKey)))
	return sum[:8]
}
