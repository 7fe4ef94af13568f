// Package openapi holds the OpenAPI documents buf generates from the protos, one per
// service, and merges them into the one document the gateway serves.
package openapi

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed *.swagger.yaml
var generated embed.FS

// Document returns the merged OpenAPI v2 document of every service, in YAML, with the
// headers the gateway forwards declared (declareHeaders).
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
	merged, err := merge(docs)
	if err != nil {
		return nil, err
	}
	declareHeaders(merged)
	return write(merged)
}

// mergedSections are the top-level maps whose entries each service contributes.
var mergedSections = []string{"paths", "definitions", "securityDefinitions"}

// Merge combines per-service OpenAPI v2 documents: the first one's header (info,
// security, ...) with every document's paths, definitions and tags. The same path in two
// documents is an error; a definition shared by several (google.rpc.Status) must be
// identical.
func Merge(docs ...[]byte) ([]byte, error) {
	merged, err := merge(docs)
	if err != nil {
		return nil, err
	}
	return write(merged)
}

func merge(docs [][]byte) (map[string]any, error) {
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
		if tags := mergeTags(merged["tags"], doc["tags"]); len(tags) > 0 {
			merged["tags"] = tags
		}
	}
	return merged, nil
}

// write writes doc as YAML indented by two spaces: with yaml.Marshal's four, a block
// scalar that starts with a space inside a list item (the description of an enum query
// parameter) gets an indentation indicator that does not match its lines, and the
// document no longer parses.
func write(doc map[string]any) ([]byte, error) {
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write merged OpenAPI document: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write merged OpenAPI document: %w", err)
	}
	return out.Bytes(), nil
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

// mergeTags appends the tags of more that tags lacks by name: buf writes every service's
// tag into each service's document.
func mergeTags(tags, more any) []any {
	have, _ := tags.([]any)
	add, _ := more.([]any)
	name := func(t any) any {
		m, _ := t.(map[string]any)
		return m["name"]
	}
	for _, t := range add {
		if !slices.ContainsFunc(have, func(h any) bool { return name(h) == name(t) }) {
			have = append(have, t)
		}
	}
	return have
}

// Operation is one operation of the document: an HTTP method, upper case, and a path
// template as the document writes it, its variables by their JSON names
// ("/v1/owners/{ownerId}").
type Operation struct {
	Method, Path string
}

// operationMethods are the keys of a path item that are operations.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// Operations lists every operation of the merged document with the names of its query
// parameters (none for an operation that reads no query).
func Operations() (map[Operation][]string, error) {
	doc, err := Document()
	if err != nil {
		return nil, err
	}
	return operationsOf(doc)
}

// operationsOf lists the operations of an OpenAPI v2 document in YAML.
func operationsOf(doc []byte) (map[Operation][]string, error) {
	var parsed struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `yaml:"name"`
				In   string `yaml:"in"`
			} `yaml:"parameters"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(doc, &parsed); err != nil {
		return nil, fmt.Errorf("read the operations of the OpenAPI document: %w", err)
	}
	ops := map[Operation][]string{}
	for path, item := range parsed.Paths {
		for method, op := range item {
			if !slices.Contains(operationMethods, method) {
				continue
			}
			var query []string
			for _, p := range op.Parameters {
				if p.In == "query" {
					query = append(query, p.Name)
				}
			}
			ops[Operation{Method: strings.ToUpper(method), Path: path}] = query
		}
	}
	return ops, nil
}
