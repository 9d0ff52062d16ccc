// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// BenchmarkExporterPathStores is the exporter's path (convert with two derived rules, claim,
// post to a FlagSync stand-in on loopback, confirm) with the local store and with the PostgreSQL
// store, as a gateway runs it: requests from concurrent senders (the sending queue's consumers),
// in rounds alternating between the stores so the machine's drift hits both alike. It reports
// this process's CPU (user + system, getrusage) per item for each, the items per second per
// core that gives, and the share of the process's CPU the shared store takes. The database
// server's own CPU is its own (like FlagSync's), not the gateway's.
//
//	FLAGSYNC_TEST_POSTGRES_DSN=$(bash scripts/postgres.sh start DIR) go test -run '^$' -bench ExporterPathStores
func BenchmarkExporterPathStores(b *testing.B) {
	dsn := os.Getenv("FLAGSYNC_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("FLAGSYNC_TEST_POSTGRES_DSN is not set (scripts/postgres.sh start prints one)")
	}
	flagsync := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer flagsync.Close()
	local := benchPathExporter(b, flagsync.URL, "local", "")
	shared := benchPathExporter(b, flagsync.URL, "postgres", dsn)
	// The queue's default consumers: 10 requests in flight at once.
	const senders = 10
	requests := make([]ptrace.Traces, senders)
	for i := range requests {
		requests[i], _ = benchTraces(64)
	}
	var localCPU, sharedCPU time.Duration
	var items atomic.Int64
	round := 0
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for _, step := range []struct {
			e   *flagsyncExporter
			cpu *time.Duration
		}{{local, &localCPU}, {shared, &sharedCPU}} {
			// New calls every round: ids of their own, so nothing is skipped as delivered before.
			for _, td := range requests {
				round++
				renumber(td, round)
			}
			counted := step.e == local
			before := processCPU()
			var wg sync.WaitGroup
			for _, td := range requests {
				wg.Go(func() {
					if got := deliverOne(b, step.e, td); counted {
						items.Add(int64(got))
					}
				})
			}
			wg.Wait()
			*step.cpu += processCPU() - before
		}
	}
	perItem := func(cpu time.Duration) float64 { return float64(cpu.Nanoseconds()) / float64(items.Load()) }
	b.ReportMetric(perItem(localCPU)/1000, "µs-cpu/item-local")
	b.ReportMetric(perItem(sharedCPU)/1000, "µs-cpu/item-postgres")
	b.ReportMetric(1e9/perItem(localCPU), "items/s/core-local")
	b.ReportMetric(1e9/perItem(sharedCPU), "items/s/core-postgres")
	b.ReportMetric(100*(1-float64(localCPU)/float64(sharedCPU)), "%store-share")
}

func benchPathExporter(b *testing.B, endpoint, name, dsn string) *flagsyncExporter {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.SDKKey = testKey
	cfg.ClientConfig.Endpoint = endpoint
	cfg.DerivedEvents = tenRules()[:2]
	cfg.DeliveryStore.Postgres.DSN = configopaque.String(dsn)
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "bench_"+name)
	e, err := newExporter(context.Background(), cfg, set, pipeline.SignalTraces)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

// renumber gives the request's spans and traces ids of round n.
func renumber(td ptrace.Traces, n int) {
	forEachSpan(td, func(span ptrace.Span, _ string) {
		traceID, spanID := span.TraceID(), span.SpanID()
		traceID[12], traceID[13], traceID[14] = byte(n), byte(n>>8), byte(n>>16) //nolint:gosec // G115: wraps on purpose
		spanID[4], spanID[5], spanID[6] = byte(n), byte(n>>8), byte(n>>16)       //nolint:gosec // G115: wraps on purpose
		span.SetTraceID(traceID)
		span.SetSpanID(spanID)
	})
}

// deliverOne converts and delivers one request; it returns its items.
func deliverOne(b *testing.B, e *flagsyncExporter, td ptrace.Traces) int {
	req, err := e.conversion.convertTraces(context.Background(), td)
	if err != nil {
		b.Error(err)
		return 0
	}
	if err := e.delivery.push(context.Background(), req); err != nil {
		b.Error(err)
	}
	return req.ItemsCount()
}

func processCPU() time.Duration {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
