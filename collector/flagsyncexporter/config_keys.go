// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// Unmarshal refuses a setting this exporter does not have, at the top level and in the
// derived-event rules (a misspelled sdk_kee or a rule's valeu would otherwise be accepted: the
// squash-embedded confighttp.ClientConfig decodes with unused keys ignored), then decodes as usual.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	var unknown []string
	top := settingNames(reflect.TypeFor[Config]())
	for key, value := range conf.ToStringMap() {
		switch {
		case !slices.Contains(top, key):
			unknown = append(unknown, fmt.Sprintf("%s (valid: %s)", key, strings.Join(top, ", ")))
		case key == "derived_events":
			unknown = append(unknown, unknownKeys(value, reflect.TypeFor[[]DerivedEventRule](), key)...)
		case key == "delivery_store":
			unknown = append(unknown, unknownKeys(value, reflect.TypeFor[DeliveryStoreConfig](), key)...)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown flagsync exporter settings: %s", strings.Join(unknown, "; "))
	}
	type plain Config // the same fields, without this method: no recursion
	return conf.Unmarshal((*plain)(cfg))
}

// unknownKeys lists the map keys in raw that the struct type t (or its elements) has no setting for.
func unknownKeys(raw any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch t.Kind() {
	case reflect.Slice:
		if items, ok := raw.([]any); ok {
			for i, item := range items {
				out = append(out, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case reflect.Struct:
		fields, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		names := settingNames(t)
		for key, value := range fields {
			field, found := fieldFor(t, key)
			if !found {
				out = append(out, fmt.Sprintf("%s.%s (valid: %s)", path, key, strings.Join(names, ", ")))
				continue
			}
			out = append(out, unknownKeys(value, field.Type, path+"."+key)...)
		}
	default:
	}
	return out
}

func fieldFor(t reflect.Type, name string) (reflect.StructField, bool) {
	for field := range t.Fields() {
		if tag, _, _ := strings.Cut(field.Tag.Get("mapstructure"), ","); tag == name {
			return field, true
		}
	}
	return reflect.StructField{}, false
}

// settingNames are the top-level mapstructure names of a config struct, squashed fields included.
func settingNames(t reflect.Type) []string {
	var names []string
	for field := range t.Fields() {
		name, options, _ := strings.Cut(field.Tag.Get("mapstructure"), ",")
		switch {
		case name == "-":
		case options == "squash" || (name == "" && field.Anonymous):
			names = append(names, settingNames(field.Type)...)
		case name != "":
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
