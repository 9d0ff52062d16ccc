// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
)

// Delivery records: FlagSync's API has no idempotency key, so every item is recorded, by its key
// (item_keys.go), for delivery_memory. An item is claimed before it is sent and confirmed after
// FlagSync's 2xx; an item another sender holds is not sent meanwhile (never two copies in
// flight), one FlagSync has is skipped, and one sent before without an answer is sent again and
// counted as possibly arriving twice. Two stores: local (store_local.go: the sending queue's
// storage extension, else memory) for one collector, and PostgreSQL (store_postgres.go) shared
// by a fleet.

// claimState is what a claim found for one item.
type claimState uint8

const (
	// claimed: this sender holds the item; send it.
	claimed claimState = iota
	// claimedAgain: claimed, and sent before without an answer: FlagSync may have it already.
	claimedAgain
	// alreadyDelivered: FlagSync has it; skip it.
	alreadyDelivered
	// heldElsewhere: another sender holds it (its request is in flight); try again later.
	heldElsewhere
)

type deliveryStore interface {
	// claim takes items for sending (keys: distinct, none zero): one state per key.
	claim(ctx context.Context, keys []itemKey) ([]claimState, error)
	// confirm records that FlagSync accepted claimed items, for delivery_memory.
	confirm(ctx context.Context, keys []itemKey) error
	// release gives claimed items back: FlagSync answered without storing them (answered), or
	// gave no answer, so that it may have them (the next claim says claimedAgain).
	release(ctx context.Context, keys []itemKey, answered bool) error
	// sweep forgets records older than delivery_memory.
	sweep(ctx context.Context) error
	close(ctx context.Context) error
}
