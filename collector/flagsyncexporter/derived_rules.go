// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Derived-event rules: their configuration, compiled to data, and how a span meets one and what
// event it gives (src/convert/derived-rules.ts on the TypeScript side).

// DerivedEventRule names a FlagSync event and the spans it is derived from. In YAML, keys are
// snake_case; the JSON tags are the TypeScript options' names (the golden vectors use them).
// An entry with only Preset set stands for that preset's rules (derived_presets.go). In EventKey,
// `{attribute}` is replaced by that span attribute's value; a span without it gives no event.
type DerivedEventRule struct {
	Preset     string     `mapstructure:"preset" json:"preset,omitempty"`
	EventKey   string     `mapstructure:"event_key" json:"eventKey"`
	Match      RuleMatch  `mapstructure:"match" json:"match"`
	Value      *RuleValue `mapstructure:"value" json:"value"`
	Properties []string   `mapstructure:"properties" json:"properties"`
}

// RuleMatch holds the criteria a span must all meet; at least one is required.
type RuleMatch struct {
	SpanName      *string              `mapstructure:"span_name" json:"spanName"`
	SpanNameRegex string               `mapstructure:"span_name_regex" json:"spanNameRegex"`
	Kind          string               `mapstructure:"kind" json:"kind"`
	Scope         *string              `mapstructure:"scope" json:"scope"`
	Status        string               `mapstructure:"status" json:"status"`
	Attributes    []AttributeCondition `mapstructure:"attributes" json:"attributes"`
}

// AttributeCondition is a condition on one span attribute: exactly one of equals, in, regex.
type AttributeCondition struct {
	Key    string `mapstructure:"key" json:"key"`
	Equals any    `mapstructure:"equals" json:"equals"`
	In     []any  `mapstructure:"in" json:"in"`
	Regex  string `mapstructure:"regex" json:"regex"`
}

// RuleValue says what the event carries: from duration (ms), attribute (a numeric attribute) or
// flag (1 when the condition holds, else 0).
type RuleValue struct {
	From string    `mapstructure:"from" json:"from"`
	Key  string    `mapstructure:"key" json:"key"`
	When *RuleWhen `mapstructure:"when" json:"when"`
}

// RuleWhen is a flag value's condition: status error, or an attribute condition.
type RuleWhen struct {
	Status    string              `mapstructure:"status" json:"status"`
	Attribute *AttributeCondition `mapstructure:"attribute" json:"attribute"`
}

var spanKinds = map[string]ptrace.SpanKind{
	"internal": ptrace.SpanKindInternal, "server": ptrace.SpanKindServer, "client": ptrace.SpanKindClient,
	"producer": ptrace.SpanKindProducer, "consumer": ptrace.SpanKindConsumer,
}

var statusCodes = map[string]ptrace.StatusCode{"unset": ptrace.StatusCodeUnset, "ok": ptrace.StatusCodeOk, "error": ptrace.StatusCodeError}

// compiledRule is a rule as data: matching runs no closures and allocates nothing per span.
type compiledRule struct {
	index int
	// eventKey alternates literal text and attribute keys ({attribute} placeholders): one element
	// for a fixed key.
	eventKey   []string
	spanName   *string
	spanNameRE *regexp.Regexp
	kind       ptrace.SpanKind
	hasKind    bool
	scope      *string
	status     ptrace.StatusCode
	hasStatus  bool
	conditions []condition
	// value: 0 none, 'd' duration, 'a' the attribute valueKey, 'e' 1 on status error, 'c' 1 when flagWhen holds.
	value      byte
	valueKey   string
	flagWhen   condition
	properties []string
}

// condition is an attribute condition: equals, one of in, or a regular expression.
type condition struct {
	key string
	in  []scalar // equals is a one-element in
	re  *regexp.Regexp
}

func (c *condition) holds(attrs pcommon.Map) bool {
	v, ok := attrs.Get(c.key)
	if !ok {
		return false
	}
	if c.re != nil {
		return v.Type() == pcommon.ValueTypeStr && c.re.MatchString(v.Str())
	}
	for i := range c.in {
		if c.in[i].equals(v) {
			return true
		}
	}
	return false
}

// matches checks the cheap criteria first, regular expressions last.
func (r *compiledRule) matches(s ptrace.Span, scope string) bool {
	if (r.hasKind && s.Kind() != r.kind) || (r.hasStatus && s.Status().Code() != r.status) {
		return false
	}
	if (r.spanName != nil && s.Name() != *r.spanName) || (r.scope != nil && scope != *r.scope) {
		return false
	}
	attrs := s.Attributes()
	for i := range r.conditions {
		if !r.conditions[i].holds(attrs) {
			return false
		}
	}
	return r.spanNameRE == nil || r.spanNameRE.MatchString(s.Name())
}

// appendValue appends `,"value":...` (nothing for no value); false when the span gives no event.
func (r *compiledRule) appendValue(b []byte, s ptrace.Span) ([]byte, bool) {
	switch r.value {
	case 'd':
		// The exact nanoseconds, divided once: the same double as the TypeScript side.
		nanos := s.EndTimestamp().AsTime().Sub(s.StartTimestamp().AsTime())
		return appendJSON(append(b, `,"value":`...), float64(nanos)/1e6), true
	case 'a':
		a, ok := s.Attributes().Get(r.valueKey)
		if !ok {
			return b, false
		}
		return numberJSON(append(b, `,"value":`...), a)
	case 'e':
		return append(b, flagText(s.Status().Code() == ptrace.StatusCodeError)...), true
	case 'c':
		return append(b, flagText(r.flagWhen.holds(s.Attributes()))...), true
	}
	return b, true
}

func compileRules(configured []DerivedEventRule) ([]compiledRule, error) {
	rules, err := expandPresets(configured)
	if err != nil {
		return nil, err
	}
	out := make([]compiledRule, 0, len(rules))
	var errs []error
	// Indexes are those of the expanded list, as on the TypeScript side.
	for i, rule := range rules {
		c, err := compileRule(i, rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("derived_events[%d]: %w", i, err))
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

func compileRule(index int, rule DerivedEventRule) (compiledRule, error) {
	c := compiledRule{index: index, properties: rule.Properties, spanName: rule.Match.SpanName, scope: rule.Match.Scope}
	if rule.EventKey == "" {
		return c, errors.New("event_key must be a non-empty string")
	}
	c.eventKey = placeholder.Split(rule.EventKey, -1)
	if names := placeholder.FindAllStringSubmatch(rule.EventKey, -1); len(names) > 0 {
		parts := make([]string, 0, 2*len(names)+1)
		for i, name := range names {
			parts = append(parts, c.eventKey[i], name[1])
		}
		parts = append(parts, c.eventKey[len(names)])
		c.eventKey = parts
	}
	m := rule.Match
	criteria := 0
	if m.SpanName != nil {
		criteria++
	}
	if m.Scope != nil {
		criteria++
	}
	if m.SpanNameRegex != "" {
		re, err := compileRegex(m.SpanNameRegex, "match.span_name_regex")
		if err != nil {
			return c, err
		}
		c.spanNameRE = re
		criteria++
	}
	if m.Kind != "" {
		kind, ok := spanKinds[m.Kind]
		if !ok {
			return c, errors.New("match.kind must be one of internal, server, client, producer, consumer")
		}
		c.kind, c.hasKind = kind, true
		criteria++
	}
	if m.Status != "" {
		status, ok := statusCodes[m.Status]
		if !ok {
			return c, errors.New("match.status must be one of unset, ok, error")
		}
		c.status, c.hasStatus = status, true
		criteria++
	}
	for i, raw := range m.Attributes {
		cond, err := compileCondition(raw, fmt.Sprintf("match.attributes[%d]", i))
		if err != nil {
			return c, err
		}
		c.conditions = append(c.conditions, cond)
		criteria++
	}
	if criteria == 0 {
		return c, errors.New("match needs at least one criterion: a rule matching every span is almost surely a mistake")
	}
	if slices.Contains(rule.Properties, "") {
		return c, errors.New("properties must be a list of attribute keys")
	}
	if slices.Contains(rule.Properties, samplingProbabilityProperty) {
		return c, errors.New("properties: " + samplingProbabilityProperty + " is written by derived events themselves")
	}
	err := compileValue(&c, rule.Value)
	return c, err
}

func compileValue(c *compiledRule, v *RuleValue) error {
	if v == nil {
		return nil
	}
	switch v.From {
	case "duration":
		c.value = 'd'
	case "attribute":
		if v.Key == "" {
			return errors.New("value.key must name a numeric span attribute")
		}
		c.value, c.valueKey = 'a', v.Key
	case "flag":
		w := v.When
		if w == nil || (w.Status == "") == (w.Attribute == nil) {
			return errors.New("value.when must be { status: error } or { attribute: condition }")
		}
		if w.Status != "" {
			if w.Status != "error" {
				return errors.New("value.when.status must be error")
			}
			c.value = 'e'
			return nil
		}
		cond, err := compileCondition(*w.Attribute, "value.when.attribute")
		if err != nil {
			return err
		}
		c.value, c.flagWhen = 'c', cond
	default:
		return errors.New("value.from must be duration, attribute or flag")
	}
	return nil
}

func flagText(on bool) string {
	if on {
		return `,"value":1`
	}
	return `,"value":0`
}

func compileCondition(c AttributeCondition, at string) (condition, error) {
	if c.Key == "" {
		return condition{}, errors.New(at + ".key must be a non-empty string")
	}
	given := 0
	for _, set := range []bool{c.Equals != nil, c.In != nil, c.Regex != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return condition{}, errors.New(at + " needs exactly one of equals, in, regex")
	}
	out := condition{key: c.Key}
	switch {
	case c.Equals != nil:
		expected, err := scalarOf(c.Equals, at+".equals")
		if err != nil {
			return out, err
		}
		out.in = []scalar{expected}
	case c.In != nil:
		if len(c.In) == 0 {
			return out, errors.New(at + ".in must be a non-empty list")
		}
		for i, raw := range c.In {
			s, err := scalarOf(raw, fmt.Sprintf("%s.in[%d]", at, i))
			if err != nil {
				return out, err
			}
			out.in = append(out.in, s)
		}
	default:
		re, err := compileRegex(c.Regex, at+".regex")
		if err != nil {
			return out, err
		}
		out.re = re
	}
	return out, nil
}

func compileRegex(source, at string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid RE2 regular expression: %w", at, err)
	}
	return re, nil
}

// scalar is a rule's expected value: strings equal strings, booleans booleans, numbers numbers.
type scalar struct {
	kind byte // 's', 'b', 'n'
	str  string
	b    bool
	num  float64
}

func scalarOf(raw any, at string) (scalar, error) {
	switch v := raw.(type) {
	case string:
		return scalar{kind: 's', str: v}, nil
	case bool:
		return scalar{kind: 'b', b: v}, nil
	case int:
		return scalar{kind: 'n', num: float64(v)}, nil
	case int64:
		return scalar{kind: 'n', num: float64(v)}, nil
	case uint64:
		return scalar{kind: 'n', num: float64(v)}, nil
	case float64:
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			return scalar{kind: 'n', num: v}, nil
		}
	}
	return scalar{}, errors.New(at + " must be a string, a finite number or a boolean")
}

func (s scalar) equals(v pcommon.Value) bool {
	switch s.kind {
	case 's':
		return v.Type() == pcommon.ValueTypeStr && v.Str() == s.str
	case 'b':
		return v.Type() == pcommon.ValueTypeBool && v.Bool() == s.b
	default:
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return float64(v.Int()) == s.num
		case pcommon.ValueTypeDouble:
			return v.Double() == s.num
		}
		return false
	}
}

// numberJSON is a numeric attribute's JSON: an int's exact digits, a finite double; false for NaN and infinities.
func numberJSON(b []byte, v pcommon.Value) ([]byte, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10), true
	case pcommon.ValueTypeDouble:
		if math.IsInf(v.Double(), 0) || math.IsNaN(v.Double()) {
			return b, false
		}
		return appendJSON(b, v.Double()), true
	}
	return b, false
}

// placeholder is `{attribute}` in an event key: a name without braces.
var placeholder = regexp.MustCompile(`\{([^{}]+)\}`)

// appendEventKey appends the event key's JSON string for this span; false when a placeholder's
// attribute is missing (or not a non-empty string, finite number or boolean).
func (r *compiledRule) appendEventKey(b []byte, s ptrace.Span) ([]byte, bool) {
	if len(r.eventKey) == 1 {
		return appendJSONString(b, r.eventKey[0]), true
	}
	key := []byte(r.eventKey[0])
	for i := 1; i < len(r.eventKey); i += 2 {
		v, ok := s.Attributes().Get(r.eventKey[i])
		if !ok {
			return b, false
		}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if v.Str() == "" {
				return b, false
			}
			key = append(key, v.Str()...)
		case pcommon.ValueTypeBool:
			key = strconv.AppendBool(key, v.Bool())
		default:
			if key, ok = numberJSON(key, v); !ok {
				return b, false
			}
		}
		key = append(key, r.eventKey[i+1]...)
	}
	if len(key) == 0 {
		return b, false
	}
	return appendJSONString(b, string(key)), true
}

// appendProperties appends `,"properties":{...}` with the allowed scalar attributes the span has,
// then extra (`"key":value` text, the sampling probability) when given.
func (r *compiledRule) appendProperties(b []byte, s ptrace.Span, extra []byte) []byte {
	first := true
	for _, key := range r.properties {
		v, ok := s.Attributes().Get(key)
		if !ok {
			continue
		}
		var text []byte
		switch v.Type() {
		case pcommon.ValueTypeStr:
			text = appendJSONString(nil, v.Str())
		case pcommon.ValueTypeBool:
			text = strconv.AppendBool(nil, v.Bool())
		default:
			if text, ok = numberJSON(nil, v); !ok {
				continue
			}
		}
		if first {
			b = append(b, `,"properties":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, key)
		b = append(b, ':')
		b = append(b, text...)
	}
	if len(extra) > 0 {
		if first {
			b = append(b, `,"properties":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, extra...)
	}
	if !first {
		b = append(b, '}')
	}
	return b
}
