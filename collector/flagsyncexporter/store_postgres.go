// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresStore is the store a fleet of gateways shares on a PostgreSQL server: delivery records
// (this file) and the trace memory of derived events (trace_memory_postgres.go), through one
// connection pool per component. Its tables are created when missing.
type postgresStore struct {
	pool *pgxpool.Pool
	// holder names this exporter's claims (random per start: a restarted process is another holder).
	holder       string
	claimTimeout time.Duration
	memory       time.Duration
	// password is redacted from errors (pgx leaves it out; kept out whatever a driver says).
	password string

	schemaMu    sync.Mutex
	schemaReady bool

	// Concurrent requests' claims and confirmations share round trips (group.go).
	claims   group[claimState]
	confirms group[struct{}]
}

func newPostgresStore(ctx context.Context, cfg *Config) (*postgresStore, error) {
	poolConfig, err := cfg.DeliveryStore.Postgres.poolConfig()
	if err != nil {
		return nil, err
	}
	poolConfig.ConnConfig.RuntimeParams["application_name"] = "otelcol-flagsync"
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, errors.New("flagsync exporter: cannot set up the PostgreSQL store's connection pool")
	}
	holder := make([]byte, 12)
	_, _ = rand.Read(holder)
	s := &postgresStore{
		pool:         pool,
		holder:       hex.EncodeToString(holder),
		claimTimeout: cfg.DeliveryStore.Postgres.ClaimTimeout,
		memory:       cfg.DeliveryMemory,
		password:     poolConfig.ConnConfig.Password,
	}
	s.claims.run = s.claimNow
	s.confirms.run = func(ctx context.Context, keys []itemKey) ([]struct{}, error) {
		return make([]struct{}, len(keys)), s.confirmNow(ctx, keys)
	}
	return s, nil
}

// schema creates the tables when missing: one transaction under an advisory lock, so that
// gateways starting at once do not race on CREATE TABLE IF NOT EXISTS.
const schema = `
SELECT pg_advisory_xact_lock(7318006543216491);
CREATE TABLE IF NOT EXISTS flagsync_delivery (
  key bytea PRIMARY KEY,
  delivered boolean NOT NULL DEFAULT false,
  holder text,
  claim_expires timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  forget_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS flagsync_delivery_forget_at ON flagsync_delivery (forget_at);
CREATE TABLE IF NOT EXISTS flagsync_traces (
  trace bytea PRIMARY KEY,
  expires_at timestamptz NOT NULL,
  made integer NOT NULL DEFAULT 0,
  contexts integer NOT NULL DEFAULT 0,
  waiting integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS flagsync_traces_expires_at ON flagsync_traces (expires_at);
CREATE TABLE IF NOT EXISTS flagsync_trace_contexts (
  trace bytea NOT NULL,
  context_key bytea NOT NULL,
  context_text bytea NOT NULL,
  expires_at timestamptz NOT NULL,
  seq integer NOT NULL DEFAULT 0,
  PRIMARY KEY (trace, context_key)
);
CREATE INDEX IF NOT EXISTS flagsync_trace_contexts_expires_at ON flagsync_trace_contexts (expires_at);
CREATE TABLE IF NOT EXISTS flagsync_trace_waiting (
  trace bytea NOT NULL,
  source bytea NOT NULL,
  tail bytea NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (trace, source)
);
CREATE INDEX IF NOT EXISTS flagsync_trace_waiting_expires_at ON flagsync_trace_waiting (expires_at);
-- Tables of a version that did not bound contexts and waiting spans per trace get their columns
-- (checked first: ALTER TABLE locks the table even when it changes nothing).
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'flagsync_trace_contexts'::regclass AND attname = 'seq') THEN
    ALTER TABLE flagsync_traces ADD COLUMN IF NOT EXISTS contexts integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS waiting integer NOT NULL DEFAULT 0;
    ALTER TABLE flagsync_trace_contexts ADD COLUMN seq integer NOT NULL DEFAULT 0;
  END IF;
END $$;
`

// ready creates the tables once; a failure (the server unreachable) is tried again on next use.
func (s *postgresStore) ready(ctx context.Context) error {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schemaReady {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return s.fail("cannot create its tables", err)
	}
	s.schemaReady = true
	return nil
}

// fail makes a store error: what failed, pgx's message, never the password.
func (s *postgresStore) fail(what string, err error) error {
	text := err.Error()
	if len(s.password) >= 4 {
		text = strings.ReplaceAll(text, s.password, "[REDACTED]")
	}
	return errors.New("PostgreSQL store " + what + ": " + text)
}

func millis(d time.Duration) int64 { return d.Milliseconds() }

// keyBytes packs keys into one parameter, 16 bytes each: pgx encodes one bytea far cheaper than
// an array of them (unpacked by keysParam in SQL).
func keyBytes(keys []itemKey) []byte {
	out := make([]byte, 0, len(keys)*len(itemKey{}))
	for i := range keys {
		out = append(out, keys[i][:]...)
	}
	return out
}

// keysParam unpacks keyBytes ($1) into an array of keys, in order.
const keysParam = `ARRAY(SELECT substring($1::bytea FROM i * 16 - 15 FOR 16) FROM generate_series(1, length($1::bytea) / 16) AS i)`

// claimSQL takes each wanted item that no one holds (a new row, or a claim expired: its holder
// died or gave it back) and is not delivered, in one statement: PostgreSQL's row locks make two
// gateways' claims on one item exclusive. It answers only for items not simply claimed (the
// usual case answers nothing): their position, and what they are. The join reads rows as they
// were before the statement: an item not taken is delivered, or held by another (or claimed by a
// concurrent statement: no row seen yet).
const claimSQL = `
WITH wanted AS (SELECT k, i FROM unnest(` + keysParam + `) WITH ORDINALITY AS w(k, i)),
taken AS (
  INSERT INTO flagsync_delivery AS d (key, holder, claim_expires, forget_at)
  SELECT k, $2, now() + $3::bigint * interval '1 millisecond', now() + $4::bigint * interval '1 millisecond' FROM wanted
  ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, claim_expires = excluded.claim_expires,
    attempts = d.attempts + 1, forget_at = excluded.forget_at
  WHERE NOT d.delivered AND d.claim_expires <= now()
  RETURNING d.key, d.attempts
)
SELECT w.i, t.attempts IS NOT NULL, coalesce(d.delivered, false) FROM wanted w
LEFT JOIN taken t ON t.key = w.k
LEFT JOIN flagsync_delivery d ON d.key = w.k
WHERE t.attempts IS NULL OR t.attempts > 1`

// claim takes items; concurrent requests' claims go in one statement.
func (s *postgresStore) claim(ctx context.Context, keys []itemKey) ([]claimState, error) {
	return s.claims.do(ctx, keys)
}

// claimNow claims keys, which may repeat (several requests' keys): a key's later copies are held
// by this gateway's request with the first, or delivered.
func (s *postgresStore) claimNow(ctx context.Context, keys []itemKey) ([]claimState, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	distinct, first := keys, []int(nil)
	if len(keys) > 1 {
		seen := make(map[itemKey]int, len(keys))
		distinct, first = make([]itemKey, 0, len(keys)), make([]int, len(keys))
		for i, key := range keys {
			at, ok := seen[key]
			if !ok {
				at = len(distinct)
				seen[key] = at
				distinct = append(distinct, key)
			}
			first[i] = at
		}
	}
	states, err := s.claimDistinct(ctx, distinct)
	if err != nil || first == nil || len(distinct) == len(keys) {
		return states, err
	}
	out := make([]claimState, len(keys))
	taken := make([]bool, len(distinct))
	for i, at := range first {
		switch state := states[at]; {
		case state == alreadyDelivered || state == heldElsewhere:
			out[i] = state
		case taken[at]:
			out[i] = heldElsewhere
		default:
			out[i], taken[at] = state, true
		}
	}
	return out, nil
}

func (s *postgresStore) claimDistinct(ctx context.Context, keys []itemKey) ([]claimState, error) {
	rows, err := s.pool.Query(ctx, claimSQL, keyBytes(keys), s.holder, millis(s.claimTimeout), millis(s.memory))
	if err != nil {
		return nil, s.fail("cannot claim items", err)
	}
	out := make([]claimState, len(keys)) // claimed, unless answered otherwise
	var position int64
	var taken, delivered bool
	_, err = pgx.ForEachRow(rows, []any{&position, &taken, &delivered}, func() error {
		if position < 1 || position > int64(len(out)) {
			return errors.New("a claim's answer does not match its items")
		}
		switch {
		case taken:
			out[position-1] = claimedAgain
		case delivered:
			out[position-1] = alreadyDelivered
		default:
			out[position-1] = heldElsewhere
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("cannot claim items", err)
	}
	return out, nil
}

// confirm records delivered items; concurrent requests' confirmations go in one statement.
func (s *postgresStore) confirm(ctx context.Context, keys []itemKey) error {
	_, err := s.confirms.do(ctx, keys)
	return err
}

func (s *postgresStore) confirmNow(ctx context.Context, keys []itemKey) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `UPDATE flagsync_delivery SET delivered = true, holder = NULL,
  forget_at = now() + $2::bigint * interval '1 millisecond' WHERE key = ANY(`+keysParam+`)`, keyBytes(keys), millis(s.memory))
	if err != nil {
		return s.fail("cannot confirm delivered items", err)
	}
	return nil
}

// release ends this holder's claims at once; answered (FlagSync did not store them) takes this
// attempt back, so that the next claim does not count the items as possibly arriving twice.
func (s *postgresStore) release(ctx context.Context, keys []itemKey, answered bool) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	taken := 0
	if answered {
		taken = 1
	}
	_, err := s.pool.Exec(ctx, `UPDATE flagsync_delivery SET claim_expires = now(), attempts = attempts - $3
WHERE key = ANY(`+keysParam+`) AND holder = $2 AND NOT delivered`, keyBytes(keys), s.holder, taken)
	if err != nil {
		return s.fail("cannot release claims", err)
	}
	return nil
}

// purgeBatch bounds one purge statement; gateways purging at once skip each other's rows.
const purgeBatch = 5000

// purge deletes rows of table whose column is past, a bounded batch at a time; it returns how
// many it deleted.
func (s *postgresStore) purge(ctx context.Context, table, column string) (int64, error) {
	// table and column are this file's constants.
	sql := `DELETE FROM ` + table + ` WHERE ctid IN (SELECT ctid FROM ` + table + ` WHERE ` + column + ` < now() LIMIT $1 FOR UPDATE SKIP LOCKED)`
	var total int64
	for ctx.Err() == nil {
		tag, err := s.pool.Exec(ctx, sql, purgeBatch)
		if err != nil {
			return total, s.fail("cannot purge "+table, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			break
		}
	}
	return total, nil
}

func (s *postgresStore) sweep(ctx context.Context) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	_, err := s.purge(ctx, "flagsync_delivery", "forget_at")
	return err
}

// close gives back this holder's claims (a request cut by shutdown may have reached FlagSync:
// the next claim counts it) and closes the pool.
func (s *postgresStore) close(ctx context.Context) error {
	var err error
	s.schemaMu.Lock()
	ready := s.schemaReady
	s.schemaMu.Unlock()
	if ready {
		_, err = s.pool.Exec(ctx, `UPDATE flagsync_delivery SET claim_expires = now() WHERE holder = $1 AND NOT delivered AND claim_expires > now()`, s.holder)
		if err != nil {
			err = s.fail("cannot release claims at shutdown", err)
		}
	}
	s.pool.Close()
	return err
}
