// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/collector/config/configopaque"
)

// DeliveryStoreConfig names where delivery records (which items FlagSync has) and the trace memory
// of derived events are kept: locally (the sending queue's storage extension, else memory) by
// default, or in PostgreSQL, shared by a fleet of gateways.
type DeliveryStoreConfig struct {
	Postgres PostgresStoreConfig `mapstructure:"postgres"`
}

// PostgresStoreConfig is the shared store on a PostgreSQL server.
type PostgresStoreConfig struct {
	// DSN is the server's connection string (postgres://user:password@host:port/db?sslmode=...,
	// or key=value pairs); empty: the local store. Never logged.
	DSN configopaque.String `mapstructure:"dsn"`
	// ClaimTimeout is how long a gateway's claim on items it is sending holds: one that outlives
	// its holder (a crash) expires and the items are sent again. Longer than any request to FlagSync.
	ClaimTimeout time.Duration `mapstructure:"claim_timeout"`
}

// enabled is true when the shared store is configured.
func (c PostgresStoreConfig) enabled() bool { return c.DSN != "" }

// poolConfig parses the DSN; its error never quotes the DSN (it may hold a password).
func (c PostgresStoreConfig) poolConfig() (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(string(c.DSN))
	if err != nil {
		return nil, errors.New("delivery_store.postgres.dsn is not a valid PostgreSQL connection string (postgres://user:password@host:port/database, or host=... user=... key=value pairs)")
	}
	return cfg, nil
}

// claimMargin is how long before its claim expires a request to FlagSync is given up: the claim
// must outlive every copy in flight.
func (c PostgresStoreConfig) claimMargin() time.Duration { return c.ClaimTimeout / 4 }

func (c PostgresStoreConfig) validate(requestTimeout time.Duration) []error {
	if !c.enabled() {
		return nil
	}
	var errs []error
	if _, err := c.poolConfig(); err != nil {
		errs = append(errs, err)
	}
	if c.ClaimTimeout < 10*time.Second || c.ClaimTimeout > time.Hour {
		errs = append(errs, fmt.Errorf("delivery_store.postgres.claim_timeout must be from 10s to 1h, got %s", c.ClaimTimeout))
	} else if requestTimeout > 0 && requestTimeout > c.ClaimTimeout-c.claimMargin() {
		errs = append(errs, fmt.Errorf("delivery_store.postgres.claim_timeout (%s) must be at least 4/3 of timeout (%s): a claim outlives every request to FlagSync", c.ClaimTimeout, requestTimeout))
	}
	return errs
}
