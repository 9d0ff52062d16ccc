// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"crypto/sha256"
	"strconv"
)

// itemKey names one FlagSync item by where it came from and what it is: the same call gives the
// same key on every gateway, two different calls never do (their spans or log records differ even
// when the items are the same text). The zero key: an item whose call cannot be told apart.
type itemKey [16]byte

func (k itemKey) isZero() bool { return k == itemKey{} }

// newItemKey hashes the store scope, the route, the item's source and its JSON.
func newItemKey(scope []byte, r route, source, json []byte) itemKey {
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
	copy(k[:], h.Sum(nil))
	return k
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
