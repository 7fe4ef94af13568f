package openapi

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// The document's routes are checked against the handlers that serve them by the
// gateway's TestDocumentHasEveryRoute.
func TestDocumentNamesTheRegisterAndItsSecurity(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title: Lillvet customer register", "bearer:"} {
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

// The merged document parses as YAML and holds every service's paths and definitions as
// its own document has them (Document adds the headers to the operations).
func TestMergedDocumentParsesAsEachServiceWroteIt(t *testing.T) {
	names, err := fs.Glob(generated, "*.swagger.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("generated documents: %v %v", names, err)
	}
	docs := make([][]byte, len(names))
	for i, name := range names {
		if docs[i], err = generated.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := Merge(docs...)
	if err != nil {
		t.Fatal(err)
	}
	var merged map[string]any
	if err := yaml.Unmarshal(raw, &merged); err != nil {
		t.Fatalf("the merged document is not YAML: %v", err)
	}
	// A partner's client generator reads the served document with its own parser: a
	// libyaml port (PyYAML, SnakeYAML and js-yaml follow the same rules) must read it too.
	served, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{raw, served} {
		var v map[string]any
		if err := yamlv2.Unmarshal(doc, &v); err != nil {
			t.Errorf("a libyaml port does not parse the document: %v", err)
		}
	}
	for i, name := range names {
		var doc map[string]any
		if err := yaml.Unmarshal(docs[i], &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, section := range []string{"paths", "definitions"} {
			have, _ := merged[section].(map[string]any)
			entries, _ := doc[section].(map[string]any)
			for key, want := range entries {
				if got := have[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s of %s differs in the merged document", section, key, name)
				}
			}
		}
	}
}
