package openapi

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

func TestDocumentHasEveryRoute(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title: Lillvet customer register", "/v1/owners/{ownerId}:revealIdentityCode", "bearer:"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("merged document lacks %q", want)
		}
	}
}

func TestMerge(t *testing.T) {
	a := []byte("swagger: \"2.0\"\ninfo: {title: A}\ntags: [{name: A}]\npaths: {/v1/a: {get: {}}}\ndefinitions: {rpcStatus: {type: object}, A: {type: object}}\n")
	b := []byte("swagger: \"2.0\"\ninfo: {title: B}\ntags: [{name: B}]\npaths: {/v1/b: {get: {}}}\ndefinitions: {rpcStatus: {type: object}, B: {type: object}}\n")
	out, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/v1/a", "/v1/b", "title: A", "name: B", "B:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("merged document lacks %q:\n%s", want, out)
		}
	}
	c := []byte("tags: [{name: B}, {name: C}]\npaths: {/v1/c: {get: {}}}\n")
	if again, err := Merge(a, b, c); err != nil || strings.Count(string(again), "name: B") != 1 || !strings.Contains(string(again), "name: C") {
		t.Errorf("tags of several documents are not listed once each (%v):\n%s", err, again)
	}
	if strings.Contains(string(out), "title: B") {
		t.Error("the second document's header replaced the first's")
	}
	clash := []byte("paths: {/v1/a: {post: {}}}\n")
	if _, err := Merge(a, clash); err == nil {
		t.Error("the same path in two documents was accepted")
	}
	other := []byte("definitions: {A: {type: string}}\n")
	if _, err := Merge(a, other); err == nil {
		t.Error("two different definitions under one name were accepted")
	}
}

// TestDocumentReadsBack parses the served document as a partner's client generator
// would, with this library and with a libyaml port (as PyYAML, SnakeYAML and js-yaml
// follow the same rules), and finds every service's paths and definitions in it as
// their own documents have them.
func TestDocumentReadsBack(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	parsers := []struct {
		name  string
		parse func([]byte) error
	}{
		{"yaml/v3", func(b []byte) error { var v map[string]any; return yaml.Unmarshal(b, &v) }},
		{"yaml/v2", func(b []byte) error { var v map[string]any; return yamlv2.Unmarshal(b, &v) }},
	}
	for _, p := range parsers {
		if err := p.parse(doc); err != nil {
			t.Errorf("%s does not parse the served document: %v", p.name, err)
		}
	}

	var served map[string]any
	if err := yaml.Unmarshal(doc, &served); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(generated, "*.swagger.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no generated documents (%v)", err)
	}
	for _, n := range names {
		raw, err := generated.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var own map[string]any
		if err := yaml.Unmarshal(raw, &own); err != nil {
			t.Fatal(err)
		}
		for _, section := range mergedSections {
			want, _ := own[section].(map[string]any)
			got, _ := served[section].(map[string]any)
			for key, val := range want {
				if !reflect.DeepEqual(got[key], val) {
					t.Errorf("%s %q of %s reads back differently from the served document", section, key, n)
				}
			}
		}
	}
}
