package openapi

import (
	"strings"
	"testing"
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
