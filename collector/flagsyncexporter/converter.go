// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The one conversion contract, as src/convert/converter.ts implements it in TypeScript: span
// events and log records in, FlagSync server payload items out, held to the same golden vectors
// (testdata/golden). No I/O; each converter keeps its own cache of checked JSON texts.

type outcomeKind uint8

const (
	outcomeIgnored outcomeKind = iota
	outcomeImpression
	outcomeEvent
	// Written by this package but cut by attribute limits on the way: never delivered.
	outcomeDamaged
	outcomeRejected
	// This package's event for a call another deliverer has (flagsync.delivery sdk or exporter):
	// not delivered here. An evaluation's context still tells derived events who its trace is for.
	outcomeElsewhere
)

type outcome struct {
	kind outcomeKind
	// The item as FlagSync receives it (impressions and events).
	json []byte
	// An impression's context JSON, or an elsewhere evaluation's valid one (derived events of its
	// trace reuse it).
	context []byte
	// Why FlagSync data could not be converted (rejected).
	reason string
}

// attributes is a span event's or log record's attributes; for a log record whose body is a map
// holding the size marker, the body's FlagSync fields are laid over them (the log form).
type attributes struct {
	attrs   pcommon.Map
	body    pcommon.Map
	hasBody bool
}

func spanEventAttributes(attrs pcommon.Map) attributes {
	return attributes{attrs: attrs}
}

func logRecordAttributes(attrs pcommon.Map, body pcommon.Value) attributes {
	if body.Type() == pcommon.ValueTypeMap {
		if _, ok := body.Map().Get(attrFlagSyncSize); ok {
			return attributes{attrs: attrs, body: body.Map(), hasBody: true}
		}
	}
	return attributes{attrs: attrs}
}

// get is an attribute as the converter reads it: from the body where the body has it; a sized
// attribute the body does not have is absent (the marker counts what was written to the body).
func (a attributes) get(name string) (pcommon.Value, bool) {
	if a.hasBody {
		if v, ok := a.body.Get(name); ok {
			return v, true
		}
		if sizedAttributes[name] {
			return pcommon.Value{}, false
		}
	}
	return a.attrs.Get(name)
}

// present is JavaScript's `??` test, as the TypeScript converter reads attributes: absent, or an empty value (null), is not present.
func (a attributes) present(name string) (pcommon.Value, bool) {
	v, ok := a.get(name)
	if !ok || v.Type() == pcommon.ValueTypeEmpty {
		return v, false
	}
	return v, true
}

type converter struct {
	providers map[string]bool
	memo      *textMemo
}

func newConverter(providerNames []string) *converter {
	providers := make(map[string]bool, len(providerNames))
	for _, name := range providerNames {
		providers[strings.ToLower(name)] = true
	}
	return &converter{providers: providers, memo: newTextMemo()}
}

// isCandidate reports whether an event of this name might convert; the rest are skipped unread.
func isCandidate(name string) bool {
	return name == eventFeatureFlagEvaluation || name == eventLegacyFeatureFlag || name == eventFlagSyncTrack
}

func (c *converter) convert(name string, timeNanos uint64, a attributes) outcome {
	switch name {
	case eventFlagSyncTrack:
		return c.convertTrack(timeNanos, a)
	case eventFeatureFlagEvaluation, eventLegacyFeatureFlag:
		return c.convertEvaluation(timeNanos, a)
	default:
		return outcome{}
	}
}

// errorFlagNotFound is OpenFeature's error.type for a flag the provider does not have (matched
// without regard to case: older hooks write FLAG_NOT_FOUND).
const errorFlagNotFound = "flag_not_found"

func (c *converter) convertEvaluation(timeNanos uint64, a attributes) outcome {
	provider, ok := a.present(attrFeatureFlagProviderName)
	if !ok {
		provider, ok = a.present(attrLegacyProviderName)
	}
	if !ok || provider.Type() != pcommon.ValueTypeStr {
		return outcome{}
	}
	// This package's own events carry the size marker; other emitters' only count for named providers.
	_, hasSize := a.get(attrFlagSyncSize)
	ours := provider.Str() == providerName && hasSize
	if !ours && !c.providers[strings.ToLower(provider.Str())] {
		return outcome{}
	}
	// A flag the provider does not have (OpenFeature's error.type, flag_not_found or the older
	// FLAG_NOT_FOUND): the FlagSync SDK sends no impression for a missing flag, so none is made from
	// another emitter's report of one either.
	if errorType, found := a.present(attrErrorType); !ours && found && errorType.Type() == pcommon.ValueTypeStr &&
		strings.EqualFold(errorType.Str(), errorFlagNotFound) {
		return outcome{}
	}
	if !isIntact(a) {
		return outcome{kind: outcomeDamaged}
	}
	switch deliveredBy(a) {
	case deliveryInvalid:
		return rejected(invalidDelivery)
	case deliveryOther:
		o := outcome{kind: outcomeElsewhere}
		if _, has := a.get(attrFlagSyncContext); has {
			if context, reason := c.userContext(a); reason == "" {
				o.context = context
			}
		}
		return o
	}
	flagKey, ok := a.get(attrFeatureFlagKey)
	if !ok || flagKey.Type() != pcommon.ValueTypeStr || flagKey.Str() == "" {
		return rejected(attrFeatureFlagKey + " must be a non-empty string")
	}
	timestamp := formatTimestamp(timeNanos)
	b := make([]byte, 0, 256)
	b = append(b, `{"flagKey":`...)
	b = appendJSONString(b, flagKey.Str())
	b = append(b, `,"flagValue":`...)
	context, reason := c.userContext(a)
	if reason != "" {
		return rejected(reason)
	}
	if b, reason = c.appendEvaluationValue(b, a); reason != "" {
		return rejected(reason)
	}
	b = append(b, `,"context":`...)
	b = append(b, context...)
	b = append(b, `,"timestamp":"`...)
	b = append(b, timestamp...)
	b = append(b, `"}`...)
	return outcome{kind: outcomeImpression, json: b, context: context}
}

func (c *converter) appendEvaluationValue(b []byte, a attributes) ([]byte, string) {
	if text, ok := a.get(attrFlagSyncValue); ok {
		if text.Type() != pcommon.ValueTypeStr {
			return b, attrFlagSyncValue + " must be JSON text"
		}
		if c.memo.inspect(text.Str()).kind == jsonInvalid {
			return b, attrFlagSyncValue + " is not valid JSON"
		}
		return append(b, utf8Text(text.Str())...), ""
	}
	// Other emitters: the semconv value (any JSON-compatible type in the log form), else the variant.
	if value, ok := a.get(attrFeatureFlagResultValue); ok {
		if !isJSONValue(value, 0) {
			return b, attrFeatureFlagResultValue + " is not a JSON value"
		}
		return appendJSON(b, value.AsRaw()), ""
	}
	variant, ok := a.present(attrFeatureFlagResultVar)
	if !ok {
		variant, ok = a.present(attrLegacyVariant)
	}
	if ok && variant.Type() == pcommon.ValueTypeStr {
		return appendJSONString(b, variant.Str()), ""
	}
	// Values left out on purpose (omitFlagValues): exposure is still counted.
	return append(b, "null"...), ""
}

func (c *converter) convertTrack(timeNanos uint64, a attributes) outcome {
	if !isIntact(a) {
		return outcome{kind: outcomeDamaged}
	}
	switch deliveredBy(a) {
	case deliveryInvalid:
		return rejected(invalidDelivery)
	case deliveryOther:
		return outcome{kind: outcomeElsewhere}
	}
	eventKey, ok := a.get(attrFlagSyncEventKey)
	if !ok || eventKey.Type() != pcommon.ValueTypeStr || eventKey.Str() == "" {
		return rejected(attrFlagSyncEventKey + " must be a non-empty string")
	}
	if _, ok := a.get(attrFlagSyncContext); !ok {
		return rejected(attrFlagSyncContext + " is required")
	}
	timestamp := formatTimestamp(timeNanos)
	context, reason := c.userContext(a)
	if reason != "" {
		return rejected(reason)
	}
	value, hasValue, reason := c.jsonTextField(a, attrFlagSyncEventValue, func(k jsonKind) bool { return k == jsonNull || k == jsonFiniteNumber }, "a number or null")
	if reason != "" {
		return rejected(reason)
	}
	properties, hasProperties, reason := c.jsonTextField(a, attrFlagSyncEventProperties, func(k jsonKind) bool { return k == jsonNull || k == jsonObject }, "an object or null")
	if reason != "" {
		return rejected(reason)
	}
	// Field order as the SDKs send it, so payloads read the same.
	b := make([]byte, 0, 256)
	b = append(b, `{"context":`...)
	b = append(b, context...)
	b = append(b, `,"eventKey":`...)
	b = appendJSONString(b, eventKey.Str())
	if hasValue {
		b = append(b, `,"value":`...)
		b = append(b, value...)
	}
	if hasProperties {
		b = append(b, `,"properties":`...)
		b = append(b, properties...)
	}
	b = append(b, `,"timestamp":"`...)
	b = append(b, timestamp...)
	b = append(b, `"}`...)
	return outcome{kind: outcomeEvent, json: b}
}

// jsonTextField is an optional attribute holding JSON text whose top level must pass check.
func (c *converter) jsonTextField(a attributes, name string, check func(jsonKind) bool, what string) (string, bool, string) {
	v, ok := a.get(name)
	if !ok {
		return "", false, ""
	}
	if v.Type() != pcommon.ValueTypeStr || !check(c.memo.inspect(v.Str()).kind) {
		return "", false, name + " must be the JSON text of " + what
	}
	return utf8Text(v.Str()), true, ""
}

// userContext is this package's flagsync.context (the JSON text the SDK would send, used as is),
// or for other emitters just the key from feature_flag.context.id.
func (c *converter) userContext(a attributes) ([]byte, string) {
	text, ok := a.get(attrFlagSyncContext)
	if !ok {
		key, ok := a.get(attrFeatureFlagContextID)
		if !ok || key.Type() != pcommon.ValueTypeStr || key.Str() == "" {
			return nil, attrFeatureFlagContextID + " (the FlagSync context key) must be a non-empty string"
		}
		b := append([]byte(`{"key":`), nil...)
		b = appendJSONString(b, key.Str())
		return append(b, '}'), ""
	}
	if text.Type() != pcommon.ValueTypeStr || !c.memo.inspect(text.Str()).contextShape {
		return nil, attrFlagSyncContext + " must be the JSON text of an object with a non-empty string key and an object of attributes"
	}
	return []byte(utf8Text(text.Str())), ""
}

type deliverer uint8

const (
	// deliveryHere: flagsync.delivery is collector, or absent (other emitters, earlier versions).
	deliveryHere deliverer = iota
	// deliveryOther: the FlagSync SDK or the app's in-process exporter delivers the call.
	deliveryOther
	deliveryInvalid
)

var invalidDelivery = attrFlagSyncDelivery + " must be one of " + deliverySDK + ", " + deliveryExporter + ", " + deliveryCollector

// deliveredBy reads who delivers the call: flagsync.delivery, or the legacy flagsync.impression
// false (the SDK).
func deliveredBy(a attributes) deliverer {
	v, ok := a.get(attrFlagSyncDelivery)
	if !ok {
		if legacy, ok := a.get(attrFlagSyncImpression); ok && legacy.Type() == pcommon.ValueTypeBool && !legacy.Bool() {
			return deliveryOther
		}
		return deliveryHere
	}
	if v.Type() != pcommon.ValueTypeStr {
		return deliveryInvalid
	}
	switch v.Str() {
	case deliveryCollector:
		return deliveryHere
	case deliverySDK, deliveryExporter:
		return deliveryOther
	}
	return deliveryInvalid
}

// isIntact is true when the attributes carry no size marker (other emitters) or one that matches.
func isIntact(a attributes) bool {
	declared, ok := a.get(attrFlagSyncSize)
	if !ok {
		return true
	}
	size := float64(payloadSize(a))
	switch declared.Type() {
	case pcommon.ValueTypeInt:
		return float64(declared.Int()) == size
	case pcommon.ValueTypeDouble:
		return declared.Double() == size
	default:
		return false
	}
}

// payloadSize counts 1 per sized attribute present, plus the UTF-16 length of string values.
func payloadSize(a attributes) int {
	size := 0
	for _, name := range sizedAttributeNames {
		v, ok := a.get(name)
		if !ok || v.Type() == pcommon.ValueTypeEmpty {
			continue
		}
		if v.Type() == pcommon.ValueTypeStr {
			size += utf16Len(v.Str()) + 1
		} else {
			size++
		}
	}
	return size
}

// formatTimestamp is FlagSync's timestamp: ISO-8601 UTC with milliseconds, truncated.
func formatTimestamp(nanos uint64) string {
	ms := int64(nanos / 1_000_000) //nolint:gosec // G115: at most 1.8e13, far within int64
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func rejected(reason string) outcome {
	return outcome{kind: outcomeRejected, reason: reason}
}
