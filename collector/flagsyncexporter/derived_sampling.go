// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"strconv"
	"strings"
)

// The sampling probability a derived event carries (property sampling.probability), so analysis
// can weight it by 1/p: read from the span's W3C tracestate, where OpenTelemetry's consistent
// probability sampling writes it (`ot=th:<hex>`, the rejection threshold T of 56 bits:
// p = (2^56 - T) / 2^56). A span without it (an app exporting every span) gives no property.
// src/convert/derived-sampling.ts on the TypeScript side.

const samplingProbabilityProperty = "sampling.probability"

// samplingProperty is the `"sampling.probability":p` property text of a tracestate, empty (not
// nil) when it gives no probability.
func samplingProperty(traceState string) []byte {
	p, ok := probabilityFromTraceState(traceState)
	if !ok {
		return []byte{}
	}
	b := appendJSONString(nil, samplingProbabilityProperty)
	return appendJSON(append(b, ':'), p)
}

func probabilityFromTraceState(traceState string) (float64, bool) {
	for member := range strings.SplitSeq(traceState, ",") {
		key, value, found := strings.Cut(member, "=")
		if !found || strings.TrimSpace(key) != "ot" {
			continue
		}
		for field := range strings.SplitSeq(strings.TrimSpace(value), ";") {
			hex, ok := strings.CutPrefix(field, "th:")
			if !ok {
				continue
			}
			if hex == "" || len(hex) > 14 || strings.Trim(hex, "0123456789abcdef") != "" {
				return 0, false
			}
			// Trailing zeros are left out of th: pad to 14 digits (56 bits).
			threshold, err := strconv.ParseUint(hex+strings.Repeat("0", 14-len(hex)), 16, 64)
			if err != nil {
				return 0, false
			}
			return float64(uint64(1)<<56-threshold) / (1 << 56), true
		}
		return 0, false
	}
	return 0, false
}
