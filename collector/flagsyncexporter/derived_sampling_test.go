// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProbabilityFromTraceState(t *testing.T) {
	for _, tc := range []struct {
		traceState string
		p          float64
		ok         bool
	}{
		{"ot=th:0", 1, true},
		{"ot=th:8", 0.5, true},
		{"ot=th:c", 0.25, true},
		{"ot=th:e", 0.125, true},
		{"vendor=x, ot=rv:0123456789abcd;th:c;x:y", 0.25, true},
		// 13 digits, padded: T = 0xfffffffffffff0, p = 16 / 2^56.
		{"ot=th:fffffffffffff", 16.0 / (1 << 56), true},
		{"", 0, false},
		{"ot=rv:0123456789abcd", 0, false},
		{"ot=th:C", 0, false},
		{"ot=th:", 0, false},
		{"ot=th:123456789abcdef", 0, false},
		{"other=th:8", 0, false},
	} {
		p, ok := probabilityFromTraceState(tc.traceState)
		assert.Equal(t, tc.ok, ok, tc.traceState)
		assert.InDelta(t, tc.p, p, 0, tc.traceState)
	}
	assert.Equal(t, `"sampling.probability":0.25`, string(samplingProperty("ot=th:c")))
	assert.Empty(t, samplingProperty("ot=rv:0123456789abcd"))
}
