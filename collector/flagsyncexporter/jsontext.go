// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON texts this package's instrumentation writes (flagsync.value, flagsync.context,
// flagsync.event.value, flagsync.event.properties) are checked as JSON.parse would read them and
// then used as they are. The same texts recur (a user's context, a flag's value), so each distinct
// short text is checked once.

// utf8Text is text as FlagSync can read it: JSON must be UTF-8, so each byte that is not (another
// emitter's bytes, passed through by the OTLP decoders) becomes U+FFFD, as encoding/json writes
// such bytes in strings. The item is delivered, not refused by FlagSync after the sender was told 200.
func utf8Text(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}

// jsonKind is what a checked JSON text holds at its top level.
type jsonKind uint8

const (
	jsonInvalid jsonKind = iota
	jsonNull
	jsonFiniteNumber
	jsonNonFiniteNumber // valid JSON, but past float64 (JSON.parse makes it Infinity)
	jsonString
	jsonBool
	jsonArray
	jsonObject
)

// textInfo is what the converter needs to know of a text.
type textInfo struct {
	kind jsonKind
	// For objects: the "key" member is a non-empty string, and "attributes" is absent or an
	// object (the shape of a FlagSync user context). Last occurrences win, as in JSON.parse.
	contextShape bool
}

const (
	memoMaxText    = 1024
	memoMaxEntries = 1024
)

type textMemo struct {
	entries map[string]textInfo
}

func newTextMemo() *textMemo {
	return &textMemo{entries: make(map[string]textInfo, memoMaxEntries)}
}

func (m *textMemo) inspect(text string) textInfo {
	if len(text) > memoMaxText {
		return inspectJSON(text)
	}
	if info, ok := m.entries[text]; ok {
		return info
	}
	if len(m.entries) >= memoMaxEntries {
		clear(m.entries)
	}
	info := inspectJSON(text)
	m.entries[text] = info
	return info
}

func inspectJSON(text string) textInfo {
	data := []byte(text)
	if !json.Valid(data) {
		return textInfo{kind: jsonInvalid}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch trimmed[0] {
	case 'n':
		return textInfo{kind: jsonNull}
	case 't', 'f':
		return textInfo{kind: jsonBool}
	case '"':
		return textInfo{kind: jsonString}
	case '[':
		return textInfo{kind: jsonArray}
	case '{':
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			return textInfo{kind: jsonInvalid}
		}
		return textInfo{kind: jsonObject, contextShape: isContextShape(members)}
	default:
		f, err := strconv.ParseFloat(string(bytes.TrimRight(trimmed, " \t\r\n")), 64)
		if err != nil && !math.IsInf(f, 0) {
			return textInfo{kind: jsonInvalid}
		}
		if math.IsInf(f, 0) {
			return textInfo{kind: jsonNonFiniteNumber}
		}
		return textInfo{kind: jsonFiniteNumber}
	}
}

func isContextShape(members map[string]json.RawMessage) bool {
	var key string
	raw, ok := members["key"]
	if !ok || json.Unmarshal(raw, &key) != nil || key == "" || bytes.TrimSpace(raw)[0] != '"' {
		return false
	}
	if attributes, ok := members["attributes"]; ok {
		trimmed := bytes.TrimSpace(attributes)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return false
		}
	}
	return true
}
