// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Rule presets: a name standing for a set of derived-event rules (src/convert/derived-presets.ts
// on the TypeScript side; testdata/golden/rules/presets.json holds the two expansions together).
// In YAML, a list entry `- preset: http` stands for the preset's rules, beside rules of one's own.
// `http` gives HTTP server latency and error rate, global and per route, named as LaunchDarkly
// names the events it derives from OpenTelemetry traces.

// httpServer matches HTTP server spans as the stable HTTP semantic conventions describe them:
// kind server with a request method (`_OTHER` for unknown methods).
func httpServer() RuleMatch {
	return RuleMatch{Kind: "server", Attributes: []AttributeCondition{{Key: "http.request.method", Regex: "^[A-Z_]+$"}}}
}

// perRoute is the per-route events' key suffix: a span without http.route gives only the global events.
const perRoute = ";method={http.request.method};route={http.route}"

var presets = map[string]func() []DerivedEventRule{
	"http": func() []DerivedEventRule {
		duration := func() *RuleValue { return &RuleValue{From: "duration"} }
		onError := func() *RuleValue { return &RuleValue{From: "flag", When: &RuleWhen{Status: "error"}} }
		return []DerivedEventRule{
			{EventKey: "otel.http.latency", Match: httpServer(), Value: duration()},
			{EventKey: "otel.http.error", Match: httpServer(), Value: onError()},
			{EventKey: "http.latency" + perRoute, Match: httpServer(), Value: duration()},
			{EventKey: "http.error" + perRoute, Match: httpServer(), Value: onError()},
		}
	},
}

// expandPresets returns the rules with every preset entry replaced by its rules.
func expandPresets(rules []DerivedEventRule) ([]DerivedEventRule, error) {
	if !slices.ContainsFunc(rules, func(r DerivedEventRule) bool { return r.Preset != "" }) {
		return rules, nil
	}
	var out []DerivedEventRule
	var errs []error
	for i, rule := range rules {
		if rule.Preset == "" {
			out = append(out, rule)
			continue
		}
		preset, ok := presets[rule.Preset]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("derived_events[%d].preset must be one of the presets: %s (got %q)", i, strings.Join(presetNames(), ", "), rule.Preset))
		case rule.EventKey != "" || rule.Value != nil || rule.Properties != nil || !isZeroMatch(rule.Match):
			errs = append(errs, fmt.Errorf("derived_events[%d]: a preset entry takes only preset", i))
		default:
			out = append(out, preset()...)
		}
	}
	return out, errors.Join(errs...)
}

func isZeroMatch(m RuleMatch) bool {
	return m.SpanName == nil && m.SpanNameRegex == "" && m.Kind == "" && m.Scope == nil && m.Status == "" && m.Attributes == nil
}

func presetNames() []string {
	names := make([]string, 0, len(presets))
	for name := range presets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
