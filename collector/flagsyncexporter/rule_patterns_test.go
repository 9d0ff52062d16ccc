// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRulePatternsGolden holds derived-event rule patterns to the verdicts and matches the
// TypeScript side (re2js) gives: testdata/golden/rules/regex.json is read by both.
func TestRulePatternsGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/rules/regex.json")
	require.NoError(t, err)
	var golden struct {
		Cases []struct {
			Pattern string          `json:"pattern"`
			Valid   bool            `json:"valid"`
			Matches map[string]bool `json:"matches"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &golden))
	require.NotEmpty(t, golden.Cases)
	for _, c := range golden.Cases {
		t.Run(c.Pattern, func(t *testing.T) {
			re, err := compileRegex(c.Pattern, "match.span_name_regex")
			if !c.Valid {
				assert.ErrorContains(t, err, "match.span_name_regex is not a valid RE2 regular expression")
				return
			}
			require.NoError(t, err)
			for input, expected := range c.Matches {
				assert.Equal(t, expected, re.MatchString(input), input)
			}
		})
	}
}
