// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

const testKey = "server-sdk-key-SECRET-1234"

// fakeFlagSync records what arrives and answers from a script (then 201).
type fakeFlagSync struct {
	*httptest.Server
	mu       sync.Mutex
	received map[string][]json.RawMessage
	bodies   []string
	answers  []func(w http.ResponseWriter)
}

func newFakeFlagSync(t *testing.T) *fakeFlagSync {
	f := &fakeFlagSync{received: map[string][]json.RawMessage{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("x-ridgeline-key") != testKey {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errorCode":"INVALID_SDK_KEY","message":"Invalid SDK key ` + r.Header.Get("x-ridgeline-key") + `","statusCode":401}`)) //nolint:gosec // G705: a test stand-in echoing the key, as FlagSync does
			return
		}
		f.mu.Lock()
		var answer func(w http.ResponseWriter)
		if len(f.answers) > 0 {
			answer = f.answers[0]
			f.answers = f.answers[1:]
		}
		f.mu.Unlock()
		if answer != nil {
			answer(w) // outside the lock: an answer may take its time
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		var parsed map[string]json.RawMessage
		assert.NoError(t, json.Unmarshal(body, &parsed))
		routeName, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/track/"), "/")
		var items []json.RawMessage
		assert.NoError(t, json.Unmarshal(parsed[routeName], &items))
		f.received[routeName] = append(f.received[routeName], items...)
		f.bodies = append(f.bodies, string(body))
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFlagSync) then(answers ...func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, answers...)
}

func (f *fakeFlagSync) keys(routeName string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, raw := range f.received[routeName] {
		var it struct {
			Context struct{ Key string } `json:"context"`
		}
		_ = json.Unmarshal(raw, &it)
		out = append(out, it.Context.Key)
	}
	return out
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"errorCode":"X","message":"answer ` + testKey + `"}`))
	}
}

// setEvent writes attributes as the instrumentation does, size marker first.
func setEvent(attrs pcommon.Map, values map[string]string) {
	size := 0
	for _, name := range sizedAttributeNames {
		if v, ok := values[name]; ok {
			size += utf16Len(v) + 1
		}
	}
	attrs.PutInt(attrFlagSyncSize, int64(size))
	for k, v := range values {
		attrs.PutStr(k, v)
	}
}

// request makes one span per user with an evaluation and a track event each; span ids follow the
// user (the same request sent again has the same spans).
func request(users ...string) ptrace.Traces {
	return requestFromSpan(1, users...)
}

// requestFromSpan is request with span ids numbered from first (0: spans without ids).
func requestFromSpan(first byte, users ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, user := range users {
		span := spans.AppendEmpty()
		span.SetName("GET /register")
		if first != 0 {
			span.SetTraceID(pcommon.TraceID{15: first + byte(i)})
			span.SetSpanID(pcommon.SpanID{7: first + byte(i)})
		}
		at := pcommon.Timestamp(1_795_000_000_000_000_000 + uint64(i)*1_000_000)
		evaluation := span.Events().AppendEmpty()
		evaluation.SetName(eventFeatureFlagEvaluation)
		evaluation.SetTimestamp(at)
		setEvent(evaluation.Attributes(), map[string]string{
			attrFeatureFlagKey: "register-button-copy", attrFeatureFlagProviderName: providerName, attrFeatureFlagContextID: user,
			attrFlagSyncValue: `"Join Now"`, attrFlagSyncContext: `{"key":"` + user + `"}`,
		})
		other := span.Events().AppendEmpty()
		other.SetName("exception")
		track := span.Events().AppendEmpty()
		track.SetName(eventFlagSyncTrack)
		track.SetTimestamp(at)
		setEvent(track.Attributes(), map[string]string{attrFlagSyncEventKey: "purchase", attrFlagSyncContext: `{"key":"` + user + `"}`, attrFlagSyncEventValue: "42.5"})
	}
	return td
}

type harness struct {
	exp     *flagsyncExporter
	reader  *sdkmetric.ManualReader
	logs    *observer.ObservedLogs
	storage *memoryStorage
	// last is the request the last push left for a retry (exporterhelper's OnError).
	last xexporterhelper.Request
}

// pushTraces runs a request through the exporter as exporterhelper does: convert, then push.
func (h *harness) pushTraces(td ptrace.Traces) error {
	req, err := h.exp.conversion.convertTraces(context.Background(), td)
	if err != nil {
		return err
	}
	return h.push(req)
}

func (h *harness) pushLogs(ld plog.Logs) error {
	req, err := h.exp.conversion.convertLogs(context.Background(), ld)
	if err != nil {
		return err
	}
	return h.push(req)
}

func (h *harness) push(req xexporterhelper.Request) error {
	err := h.exp.delivery.push(context.Background(), req)
	if err != nil {
		h.last = req.(xexporterhelper.RequestErrorHandler).OnError(err)
	}
	return err
}

// retry pushes what the last failed push left, as exporterhelper's retry does.
func (h *harness) retry() error {
	return h.push(h.last)
}

func newHarness(t *testing.T, endpoint string, configure func(*Config)) *harness {
	return newNamedHarness(t, "", endpoint, configure)
}

// newNamedHarness is newHarness for the component flagsync/name: exporters of different names
// share nothing in process (two gateways).
func newNamedHarness(t *testing.T, name, endpoint string, configure func(*Config)) *harness {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.SDKKey = testKey
	if configure != nil {
		configure(cfg)
	}
	require.NoError(t, cfg.Validate())
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	reader := sdkmetric.NewManualReader()
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	core, logs := observer.New(zap.InfoLevel)
	set.Logger = zap.New(core)
	exp, err := newExporter(context.Background(), cfg, set, pipeline.SignalTraces)
	require.NoError(t, err)
	h := &harness{exp: exp, reader: reader, logs: logs}
	host := componenttest.NewNopHost()
	if cfg.QueueConfig.HasValue() && cfg.QueueConfig.Get().StorageID != nil {
		h.storage = newMemoryStorage()
		host = hostWith{extensions: map[component.ID]component.Component{*cfg.QueueConfig.Get().StorageID: h.storage}}
	}
	require.NoError(t, h.exp.start(context.Background(), host))
	t.Cleanup(func() { _ = h.exp.shutdown(context.Background()) })
	return h
}

// counter sums a counter across its attribute sets.
func (h *harness) counter(t *testing.T, name string) int64 {
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
					total += p.Value
				}
			}
		}
	}
	return total
}

func TestDeliversInBatchesWithTheKeyAndOurSDKContext(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, func(c *Config) { c.MaxBatchSize = 2 })
	require.NoError(t, h.pushTraces(request("u1", "u2", "u3")))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("events"))
	require.Len(t, fs.bodies, 4)
	assert.Equal(t, `{"impressions":[{"flagKey":"register-button-copy","flagValue":"Join Now","context":{"key":"u1"},"timestamp":"2026-11-18T11:06:40.000Z"},{"flagKey":"register-button-copy","flagValue":"Join Now","context":{"key":"u2"},"timestamp":"2026-11-18T11:06:40.001Z"}],"sdkContext":{"sdkName":"flagsync-otel","sdkVersion":"`+version+`"}}`, fs.bodies[0])
	assert.Equal(t, int64(6), h.counter(t, "otelcol_exporter_flagsync_delivered"))
}

func TestPartialFailureRetriesOnlyWhatWasNotDelivered(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, func(c *Config) { c.MaxBatchSize = 2 })
	// Impressions u1,u2 delivered; then FlagSync fails.
	fs.then(nil, status(http.StatusServiceUnavailable))
	require.Error(t, h.pushTraces(request("u1", "u2", "u3")))
	// The retry holds only what was not delivered: u3's impression and every event.
	assert.Equal(t, 4, h.last.ItemsCount())
	require.NoError(t, h.retry())
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("events"))
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		want       time.Duration
	}{{"2", 2 * time.Second}, {"999999999", time.Minute}, {"Wed, 21 Oct 2099 07:28:00 GMT", time.Minute}} {
		fs := newFakeFlagSync(t)
		h := newHarness(t, fs.URL, func(c *Config) { c.MaxRetryAfter = time.Minute })
		fs.then(status(http.StatusTooManyRequests, "Retry-After", tt.retryAfter))
		err := h.pushTraces(request("u1"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Throttle ("+tt.want.String()+")", tt.retryAfter)
		assert.False(t, consumererror.IsPermanent(err))
		assert.Empty(t, fs.keys("impressions"))
	}
}

func TestConfigurationProblemsKeepTheDataAndSayOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		key    string
		hint   string
	}{
		{"wrong key", nil, "wrong-key-0000", "check sdk_key"},
		{"not found", status(http.StatusNotFound), testKey, "check endpoint"},
		{"redirect", status(http.StatusFound, "Location", "https://elsewhere.example.com/"), testKey, "check endpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeFlagSync(t)
			h := newHarness(t, fs.URL, func(c *Config) { c.SDKKey = "wrong-key-0000"; c.ConfigErrorRetryDelay = 7 * time.Second })
			h.exp.delivery.client.sdkKey = tt.key
			for range 3 {
				if tt.answer != nil {
					fs.then(tt.answer)
				}
				err := h.pushTraces(request("u1"))
				require.Error(t, err)
				assert.False(t, consumererror.IsPermanent(err), "kept for retry")
				assert.Contains(t, err.Error(), "Throttle (7s)")
				assert.NotContains(t, err.Error(), tt.key)
			}
			errors := h.logs.FilterMessageSnippet("configuration problem").All()
			require.Len(t, errors, 1, "one clear error, not one per retry")
			assert.Contains(t, errors[0].ContextMap()["answer"], tt.hint)
		})
	}
}

// A chunk FlagSync refuses (400) is halved until the refused item stands alone: the rest of the
// chunk is delivered, the refused item dropped, counted and reported once.
func TestRefusedItemIsIsolatedTheRestDelivered(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, nil)
	badRequest := status(http.StatusBadRequest)
	// The impressions chunk [u1 u2] is refused, then [u1] alone; [u2] and the events are taken.
	fs.then(badRequest, badRequest) //nolint:gocritic // dupOption: the chunk, then its first half
	err := h.pushTraces(request("u1", "u2"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "refused for good: exporterhelper counts the request as failed")
	assert.Equal(t, []string{"u2"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2"}, fs.keys("events"))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_failed"))
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_flagsync_delivered"))
	assert.Len(t, h.logs.FilterMessageSnippet("refused items as invalid").All(), 1)
	assert.NotContains(t, h.logs.All()[0].ContextMap()["answer"], testKey, "FlagSync echoed the key: redacted")
}

func TestTooLargeSplitsTheBatch(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, nil)
	fs.then(status(http.StatusRequestEntityTooLarge))
	require.NoError(t, h.pushTraces(request("u1", "u2", "u3", "u4")))
	assert.Equal(t, []string{"u1", "u2", "u3", "u4"}, fs.keys("impressions"))
	assert.Len(t, fs.bodies, 3) // two halves of the impressions, one events batch
}

func TestTimeoutThenResendIsCountedAsUnconfirmed(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, func(c *Config) { c.ClientConfig.Timeout = 200 * time.Millisecond })
	fs.then(func(w http.ResponseWriter) { time.Sleep(400 * time.Millisecond); w.WriteHeader(http.StatusCreated) })
	require.Error(t, h.pushTraces(request("u1")))
	require.NoError(t, h.retry())
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_unconfirmed"))
}

// A restart with a persistent queue sends the whole request again, including what arrived.
func TestReplayAfterRestartSkipsWhatArrived(t *testing.T) {
	fs := newFakeFlagSync(t)
	storageID := component.MustNewIDWithName("file_storage", "flagsync")
	configure := func(c *Config) { c.MaxBatchSize = 1; c.QueueConfig.Get().StorageID = &storageID }
	first := newHarness(t, fs.URL, configure)
	fs.then(nil, nil, status(http.StatusServiceUnavailable)) //nolint:gocritic // dupOption: two batches delivered, then 503
	require.Error(t, first.pushTraces(request("u1", "u2", "u3")))
	// The process dies during the backoff; a new one gets the same storage and the original request.
	second := newHarness(t, fs.URL, configure)
	second.exp.delivery.store = newLocalStore(newStorageRecords(first.storage, time.Hour))
	require.NoError(t, second.pushTraces(request("u1", "u2", "u3")))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("events"))
	assert.Equal(t, int64(2), second.counter(t, "otelcol_exporter_flagsync_duplicates_skipped"))
	// Once the request arrived whole, each item is recorded delivered, for delivery_memory: in
	// confirmation records, and in item records once merged (here at the store's close).
	assert.Equal(t, recordCounts{confirmed: 6}, countRecords(first.storage))
	require.NoError(t, second.exp.delivery.store.close(context.Background()))
	assert.Equal(t, recordCounts{items: 6}, countRecords(first.storage))
	for key, record := range first.storage.data {
		assert.Equal(t, byte(recordDelivered), record[0], key)
	}
}

// recordCounts is what a local store's storage holds: item records, claim records, confirmed
// items (in confirmation records).
type recordCounts struct{ items, claims, confirmed int }

func countRecords(s *memoryStorage) (n recordCounts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, value := range s.data {
		switch key[:2] {
		case "i/":
			n.items++
		case "s/":
			n.claims++
		case "d/":
			n.confirmed += (len(value) - 8) / len(itemKey{})
		}
	}
	return n
}

// Confirmations are merged into item records once mergeAt items are confirmed, in one write; a
// restart before that finds them delivered all the same.
func TestStorageConfirmationsMerge(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStorage()
	first := newStorageRecords(s, time.Hour)
	first.mergeAt = 4
	store := newLocalStore(first)
	keys := []itemKey{{1: 1}, {1: 2}, {1: 3}, {1: 4}, {1: 5}}
	_, err := store.claim(ctx, keys)
	require.NoError(t, err)
	require.NoError(t, store.confirm(ctx, keys[:2]))
	require.NoError(t, store.confirm(ctx, keys[2:3]))
	assert.Equal(t, recordCounts{claims: 1, confirmed: 3}, countRecords(s), "the claim record stays until all its items settle")

	states, err := newStorageRecords(s, time.Hour).get(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []recordState{recordDelivered, recordDelivered, recordDelivered, recordSent, recordSent}, states, "after a restart")

	require.NoError(t, store.confirm(ctx, keys[3:]))
	assert.Equal(t, recordCounts{items: 5}, countRecords(s), "merged at 4: item records only")
	again := newLocalStore(newStorageRecords(s, time.Hour))
	claims, err := again.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{alreadyDelivered, alreadyDelivered, alreadyDelivered, alreadyDelivered, alreadyDelivered}, claims)
}

// The same OTLP request sent again after it was delivered whole (an upstream retry whose answer
// was lost, an agent replaying its queue) delivers nothing twice.
func TestDeliveredRequestSentAgainIsSkipped(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, func(c *Config) { c.MaxBatchSize = 2 })
	require.NoError(t, h.pushTraces(request("u1", "u2", "u3")))
	require.NoError(t, h.pushTraces(request("u1", "u2", "u3")))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("events"))
	// Every item of the second copy was skipped (3 impressions, 3 events).
	assert.Equal(t, int64(6), h.counter(t, "otelcol_exporter_flagsync_duplicates_skipped"))
}

// The same impressions and events from different calls (other spans, or spans without ids) are
// never taken for a batch that arrived before.
func TestSameItemsFromOtherCallsAreDelivered(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, nil)
	require.NoError(t, h.pushTraces(requestFromSpan(1, "u1")))
	require.NoError(t, h.pushTraces(requestFromSpan(9, "u1")))
	require.NoError(t, h.pushTraces(requestFromSpan(0, "u1")))
	require.NoError(t, h.pushTraces(requestFromSpan(0, "u1")))
	assert.Equal(t, []string{"u1", "u1", "u1", "u1"}, fs.keys("impressions"))
	assert.Equal(t, int64(0), h.counter(t, "otelcol_exporter_flagsync_duplicates_skipped"))
}

func TestStorageSweepForgetsOldRecords(t *testing.T) {
	s := newMemoryStorage()
	p := newStorageRecords(s, time.Hour)
	fresh := itemKey{1: 1}
	require.NoError(t, p.set(context.Background(), []itemKey{fresh}, recordDelivered))
	old := make([]byte, 9)
	old[0] = byte(recordDelivered)
	s.data[storageKey(itemKey{1: 2})] = old // unix millis 0
	s.data["b/earlier-version"] = old
	s.data["other"] = []byte("kept")
	require.NoError(t, p.sweep(context.Background()))
	assert.Contains(t, s.data, storageKey(fresh))
	assert.NotContains(t, s.data, storageKey(itemKey{1: 2}))
	assert.NotContains(t, s.data, "b/earlier-version")
	assert.Contains(t, s.data, "other")
}

func TestLogsAreConvertedFromTheirBody(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, nil)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventFlagSyncTrack)
	lr.SetTimestamp(1_795_000_000_000_000_000)
	setEvent(lr.Body().SetEmptyMap(), map[string]string{attrFlagSyncEventKey: "signup", attrFlagSyncContext: `{"key":"log-user"}`, attrFlagSyncCallID: "n.1"})
	require.NoError(t, h.pushLogs(ld))
	assert.Equal(t, []string{"log-user"}, fs.keys("events"))
}

func TestUnreachableFlagSyncIsRetryableAndNotUnconfirmed(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1", nil)
	err := h.pushTraces(request("u1"))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.NotContains(t, err.Error(), testKey)
	assert.Equal(t, 2, h.last.ItemsCount(), "kept for the retry")
	assert.Equal(t, int64(0), h.counter(t, "otelcol_exporter_flagsync_unconfirmed"))
}

// memoryStorage is a storage extension and its client, for tests.
type memoryStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

func newMemoryStorage() *memoryStorage { return &memoryStorage{data: map[string][]byte{}} }

func (m *memoryStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return m, nil
}

func (m *memoryStorage) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[key], nil
}

func (m *memoryStorage) Set(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = value
	return nil
}

func (m *memoryStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	return nil
}

func (m *memoryStorage) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = m.Get(ctx, op.Key)
		case storage.Set:
			_ = m.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = m.Delete(ctx, op.Key)
		}
	}
	return nil
}

func (m *memoryStorage) Close(context.Context) error { return nil }

func (m *memoryStorage) Walk(ctx context.Context, fn storage.WalkFunc) error {
	m.mu.Lock()
	var ops []*storage.Operation
	for k, v := range m.data {
		more, err := fn(k, v)
		if err != nil {
			m.mu.Unlock()
			return err
		}
		ops = append(ops, more...)
	}
	m.mu.Unlock()
	return m.Batch(ctx, ops...)
}

type hostWith struct {
	extensions map[component.ID]component.Component
}

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h.extensions }

// A claim is one storage record, whatever its size; a crash leaves it, and after the restart its
// items count as sent (claimed again: possibly arriving twice). Settling them removes it.
func TestStorageClaimRecordSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStorage()
	first := newLocalStore(newStorageRecords(s, time.Hour))
	keys := []itemKey{{1: 1}, {1: 2}, {1: 3}}
	states, err := first.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimed, claimed, claimed}, states)
	assert.Len(t, s.data, 1, "one record for the claim")

	restarted := newLocalStore(newStorageRecords(s, time.Hour))
	states, err = restarted.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimedAgain, claimedAgain, claimedAgain}, states)
	require.NoError(t, restarted.confirm(ctx, keys[:2]))
	require.NoError(t, restarted.release(ctx, keys[2:], true))
	// Two items delivered, and the third still sent before without an answer: one claim record
	// holding it.
	assert.Equal(t, recordCounts{claims: 1, confirmed: 2}, countRecords(s))
	states, err = restarted.claim(ctx, keys[2:])
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimedAgain}, states)
	require.NoError(t, restarted.confirm(ctx, keys[2:]))
	assert.Equal(t, recordCounts{confirmed: 3}, countRecords(s), "three delivered, no claim record left")
}
