// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// JSON written with encoding/json: FlagSync parses what it receives, so only the values count,
// not the bytes (the golden vectors are compared by meaning). The JSON texts this package's
// instrumentation writes are used as they are (jsontext.go checks them).

// appendJSONString appends s as a JSON string: plain text (printable ASCII without quotes or
// backslashes, most keys and names) as it is, the rest through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return appendJSON(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSON appends v as encoding/json writes it, without HTML escapes. v is a string, a finite
// float64 or a JSON value's raw form (isJSONValue): it always encodes.
func appendJSON(b []byte, v any) []byte {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// maxJSONDepth is the deepest nesting of a value another emitter wrote that is taken as JSON.
const maxJSONDepth = 64

// isJSONValue reports whether v is a JSON value: no bytes, no NaN or infinities, not nested
// deeper than maxJSONDepth.
func isJSONValue(v pcommon.Value, depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeEmpty, pcommon.ValueTypeStr, pcommon.ValueTypeBool, pcommon.ValueTypeInt:
		return true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		return !math.IsNaN(d) && !math.IsInf(d, 0)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := range s.Len() {
			if !isJSONValue(s.At(i), depth+1) {
				return false
			}
		}
		return true
	case pcommon.ValueTypeMap:
		ok := true
		v.Map().Range(func(_ string, item pcommon.Value) bool {
			ok = isJSONValue(item, depth+1)
			return ok
		})
		return ok
	default:
		return false
	}
}

// utf16Len is the length of s in UTF-16 code units: what JavaScript's string length counts, what
// the size marker counts and what attribute value length limits truncate by.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}
