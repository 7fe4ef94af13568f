package openapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// protoc-gen-openapiv2 marks a property readOnly only when its comment says "Output only."
// with the period; "Output only:" reads the same to a person but not to the generator, and
// a partner's generated client would then send the field as input. The one documented
// exception, "Output only, except ...", is input in some requests and must stay writable.
func TestOutputOnlyPropertiesAreReadOnly(t *testing.T) {
	raw, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	props := schemaProperties("", doc)
	if len(props) < 100 {
		t.Fatalf("only %d properties found in the served document", len(props))
	}
	outputOnly := 0
	for _, p := range props {
		if !strings.Contains(p.description, "Output only") {
			continue
		}
		outputOnly++
		exception := strings.Contains(p.description, "Output only, except")
		if !exception && !p.readOnly {
			t.Errorf("%s says %q but is not readOnly", p.path, firstLine(p.description))
		}
		if exception && p.readOnly {
			t.Errorf("%s is input in some requests (%q) but readOnly", p.path, firstLine(p.description))
		}
	}
	if outputOnly < 50 {
		t.Errorf("only %d properties say Output only", outputOnly)
	}
}

// A property is one entry of a schema's properties, wherever the schema is (definitions,
// inline request bodies, items).
type property struct {
	path        string
	description string
	readOnly    bool
}

func schemaProperties(path string, node any) []property {
	var found []property
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for _, name := range sortedKeys(props) {
				p, _ := props[name].(map[string]any)
				description, _ := p["description"].(string)
				readOnly, _ := p["readOnly"].(bool)
				found = append(found, property{path + "." + name, description, readOnly})
			}
		}
		for _, key := range sortedKeys(n) {
			found = append(found, schemaProperties(path+"/"+key, n[key])...)
		}
	case []any:
		for i, v := range n {
			found = append(found, schemaProperties(fmt.Sprintf("%s[%d]", path, i), v)...)
		}
	}
	return found
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
