// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// Each preset expands to the rules the TypeScript side expands it to (testdata/golden/rules/presets.json).
func TestPresetsExpandAsTheTypeScriptSide(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/rules/presets.json")
	require.NoError(t, err)
	var golden struct {
		Presets map[string][]DerivedEventRule `json:"presets"`
	}
	require.NoError(t, json.Unmarshal(data, &golden))
	require.ElementsMatch(t, presetNames(), keys(golden.Presets))
	for name, want := range golden.Presets {
		got, err := expandPresets([]DerivedEventRule{{Preset: name}})
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func loadPresetConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "presets.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestPresetInCollectorYAML(t *testing.T) {
	cfg, err := loadPresetConfig(t, "preset")
	require.NoError(t, err)
	rules, err := compileRules(cfg.DerivedEvents)
	require.NoError(t, err)
	// The preset's four rules, then the rule of one's own, indexed in that order.
	require.Len(t, rules, 5)
	assert.Equal(t, []string{"otel.http.latency"}, rules[0].eventKey)
	assert.Equal(t, []string{"http.error;method=", "http.request.method", ";route=", "http.route", ""}, rules[3].eventKey)
	assert.Equal(t, 4, rules[4].index)

	for name, msg := range map[string]string{
		"unknown_preset":     `derived_events[0].preset must be one of the presets: http (got "grpc")`,
		"preset_with_fields": "derived_events[0]: a preset entry takes only preset",
		"sampling_property":  "derived_events[0]: properties: sampling.probability is written by derived events themselves",
	} {
		_, err := loadPresetConfig(t, name)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), msg, name)
	}
}

// The per-route events need both attributes of their key; a span without http.route gives the global ones only.
func TestEventKeyPlaceholders(t *testing.T) {
	rules, err := compileRules([]DerivedEventRule{{Preset: "http"}})
	require.NoError(t, err)
	span := ptrace.NewSpan()
	span.Attributes().PutStr("http.request.method", "POST")
	span.Attributes().PutStr("http.route", "/orders/{id}")
	key, ok := rules[2].appendEventKey(nil, span)
	require.True(t, ok)
	assert.JSONEq(t, `"http.latency;method=POST;route=/orders/{id}"`, string(key))
	span.Attributes().Remove("http.route")
	_, ok = rules[2].appendEventKey(nil, span)
	assert.False(t, ok)
	key, ok = rules[0].appendEventKey(nil, span)
	require.True(t, ok)
	assert.JSONEq(t, `"otel.http.latency"`, string(key))
}
