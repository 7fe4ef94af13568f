package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCompare is the generated-code check's verdict: what a user is told about
// proto/gen after generating.
func TestCompare(t *testing.T) {
	tree := map[string][]byte{"go/a.pb.go": []byte("a"), "openapi/x.yaml": []byte("x")}
	tests := []struct {
		name  string
		after map[string][]byte
		want  diff
	}{
		{"same", map[string][]byte{"go/a.pb.go": []byte("a"), "openapi/x.yaml": []byte("x")}, nil},
		{"changed", map[string][]byte{"go/a.pb.go": []byte("a2"), "openapi/x.yaml": []byte("x")}, diff{"changed: go/a.pb.go"}},
		{"added", map[string][]byte{"go/a.pb.go": []byte("a"), "go/b.pb.go": []byte("b"), "openapi/x.yaml": []byte("x")}, diff{"added: go/b.pb.go"}},
		{"removed, a stale file of a deleted proto", map[string][]byte{"go/a.pb.go": []byte("a")}, diff{"removed: openapi/x.yaml"}},
		{"all three, by path", map[string][]byte{"go/a.pb.go": []byte(""), "go/b.pb.go": []byte("b")}, diff{"changed: go/a.pb.go", "added: go/b.pb.go", "removed: openapi/x.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compare(tree, tt.after); !slices.Equal(got, tt.want) {
				t.Errorf("compare = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSnapshotReadsEveryFileBelow(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "top.txt"), "t")
	write(t, filepath.Join(dir, "go", "lillvet", "owner", "v1", "owner.pb.go"), "o")
	got, err := snapshot(filepath.Dir(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(dir)
	want := map[string][]byte{base + "/top.txt": []byte("t"), base + "/go/lillvet/owner/v1/owner.pb.go": []byte("o")}
	if d := compare(want, got); len(d) > 0 {
		t.Errorf("snapshot differs from the files written:\n%s", d)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
