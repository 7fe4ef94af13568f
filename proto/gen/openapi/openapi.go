// Package openapi holds the OpenAPI documents buf generates from the protos, one per
// service, and merges them into the one document the gateway serves.
package openapi

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"

	"go.yaml.in/yaml/v3"
)

//go:embed *.swagger.yaml
var generated embed.FS

// Document returns the merged OpenAPI v2 document of every service, in YAML.
func Document() ([]byte, error) {
	names, err := fs.Glob(generated, "*.swagger.yaml")
	if err != nil {
		return nil, fmt.Errorf("list OpenAPI documents: %w", err)
	}
	slices.Sort(names)
	docs := make([][]byte, len(names))
	for i, n := range names {
		if docs[i], err = generated.ReadFile(n); err != nil {
			return nil, fmt.Errorf("read OpenAPI document %s: %w", n, err)
		}
	}
	return Merge(docs...)
}

// mergedSections are the top-level maps whose entries each service contributes.
var mergedSections = []string{"paths", "definitions", "securityDefinitions"}

// Merge combines per-service OpenAPI v2 documents: the first one's header (info,
// security, ...) with every document's paths, definitions and tags. The same path in two
// documents is an error; a definition shared by several (google.rpc.Status) must be
// identical.
func Merge(docs ...[]byte) ([]byte, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("merge OpenAPI documents: none given")
	}
	var merged map[string]any
	for i, raw := range docs {
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("parse OpenAPI document %d: %w", i, err)
		}
		if merged == nil {
			merged = doc
			continue
		}
		for _, section := range mergedSections {
			if err := mergeSection(merged, doc, section); err != nil {
				return nil, err
			}
		}
		tags, _ := merged["tags"].([]any)
		more, _ := doc["tags"].([]any)
		// buf runs each service's generator over every proto file, so each document
		// carries every service's tag: keep the first of each name.
		for _, t := range more {
			if !slices.ContainsFunc(tags, func(have any) bool { return tagName(have) == tagName(t) }) {
				tags = append(tags, t)
			}
		}
		if len(tags) > 0 {
			merged["tags"] = tags
		}
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("write merged OpenAPI document: %w", err)
	}
	return out, nil
}

func mergeSection(into, from map[string]any, section string) error {
	add, _ := from[section].(map[string]any)
	if len(add) == 0 {
		return nil
	}
	dst, _ := into[section].(map[string]any)
	if dst == nil {
		dst = map[string]any{}
		into[section] = dst
	}
	for key, val := range add {
		existing, dup := dst[key]
		if !dup {
			dst[key] = val
			continue
		}
		if section == "paths" || fmt.Sprint(existing) != fmt.Sprint(val) {
			return fmt.Errorf("merge OpenAPI documents: %s %q is defined twice, differently", section, key)
		}
	}
	return nil
}

// tagName is the name of an OpenAPI tag object.
func tagName(tag any) any {
	m, _ := tag.(map[string]any)
	return m["name"]
}
