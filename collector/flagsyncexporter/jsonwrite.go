// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// JSON written exactly as JavaScript's JSON.stringify writes it, so that the TypeScript converter
// and this one produce the same bytes (testdata/golden): the same string escapes, numbers in
// ECMAScript's Number::toString form, and map keys in the order a JavaScript object keeps them.

const hexDigits = "0123456789abcdef"

// appendJSString appends s as JSON.stringify writes a string: `"` and `\` escaped, the short
// escapes for \b \f \n \r \t, \u00xx for other control characters, everything else (U+2028
// included) as is. Invalid UTF-8 becomes U+FFFD, as a JavaScript string decoded from it would.
func appendJSString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// appendJSNumber appends a finite float64 as ECMAScript's Number::toString writes it: the
// shortest digits that round-trip, plain notation from 1e-7 up to 1e21, else d.ddde±n.
func appendJSNumber(b []byte, f float64) []byte {
	if f == 0 {
		return append(b, '0') // -0 too, as JSON.stringify(-0) is "0"
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest round-trip digits and the exponent of the first digit.
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	mantissa, expText, _ := strings.Cut(string(e), "e")
	digits := strings.Replace(mantissa, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	k := len(digits)
	n := exp + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for i := 0; i < n-k; i++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for i := 0; i < -n; i++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
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
		for i := 0; i < s.Len(); i++ {
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

// appendJSValue appends v (a JSON value, see isJSONValue) as JSON.stringify writes the value the
// TypeScript decoders make of it: integers with their exact digits, maps as JavaScript objects.
func appendJSValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSString(b, v.Str())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSNumber(b, v.Double())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSValue(b, s.At(i))
		}
		return append(b, ']')
	case pcommon.ValueTypeMap:
		return appendJSObject(b, v.Map())
	default:
		return append(b, "null"...)
	}
}

// appendJSObject writes a map as a JavaScript object built from it would serialize: a repeated
// key keeps its first position and its last value, and keys that are array indexes come first,
// in numeric order.
func appendJSObject(b []byte, m pcommon.Map) []byte {
	type entry struct {
		key   string
		value pcommon.Value
	}
	entries := make([]entry, 0, m.Len())
	position := make(map[string]int, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		if i, seen := position[k]; seen {
			entries[i].value = v
		} else {
			position[k] = len(entries)
			entries = append(entries, entry{k, v})
		}
		return true
	})
	sort.SliceStable(entries, func(i, j int) bool {
		a, aIndex := arrayIndex(entries[i].key)
		c, cIndex := arrayIndex(entries[j].key)
		if aIndex && cIndex {
			return a < c
		}
		return aIndex && !cIndex
	})
	b = append(b, '{')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSString(b, e.key)
		b = append(b, ':')
		b = appendJSValue(b, e.value)
	}
	return append(b, '}')
}

// arrayIndex reports whether key is an ECMAScript array index (a canonical decimal below 2^32-1).
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil || n >= math.MaxUint32 {
		return 0, false
	}
	return n, true
}

// utf16Len is the length of s in UTF-16 code units: what JavaScript's string length counts, and
// what attribute value length limits truncate by.
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
