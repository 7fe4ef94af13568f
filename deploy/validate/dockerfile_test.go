package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lillvet/register/deploy/validate"
)

func TestParseDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
		check   func(t *testing.T, df validate.Dockerfile)
	}{
		{
			name: "stages, continuations and comments",
			src:  "# syntax=docker/dockerfile:1\nARG V=1\nFROM golang:1 AS build\nRUN echo a \\\n  # inside\n\n  && echo b\nFROM scratch\nCOPY --from=build --chmod=0755 /out/x /x\nENTRYPOINT [\"/x\", \"-v\"]\n",
			check: func(t *testing.T, df validate.Dockerfile) {
				if len(df.Stages) != 2 || df.Stages[0].Name != "build" || df.Stages[1].Image != "scratch" {
					t.Fatalf("stages: %+v", df.Stages)
				}
				run := df.Stages[0].Instructions[0]
				if run.Cmd != "RUN" || !strings.Contains(run.Text, "echo a") || !strings.Contains(run.Text, "&& echo b") || run.Line != 4 {
					t.Errorf("joined RUN: %+v", run)
				}
				cp := df.Stages[1].Instructions[0]
				if from, ok := cp.Flag("from"); !ok || from != "build" || len(cp.Args) != 2 {
					t.Errorf("COPY flags: %+v", cp)
				}
				if len(df.ContextCopies()) != 0 {
					t.Error("a copy from a stage counted as a context copy")
				}
				ep := df.Stages[1].Instructions[1]
				if !ep.Exec || len(ep.Args) != 2 || ep.Args[1] != "-v" {
					t.Errorf("exec form: %+v", ep)
				}
			},
		},
		{name: "instruction before FROM", src: "RUN true\nFROM scratch\n", wantErr: "before the first FROM"},
		{name: "unknown instruction", src: "FROM scratch\nCOPYY a b\n", wantErr: "unknown instruction"},
		{name: "bad exec form", src: "FROM scratch\nENTRYPOINT [\"/x\",]\n", wantErr: "not a JSON array"},
		{name: "bad FROM", src: "FROM a b\n", wantErr: "FROM wants"},
		{name: "dangling continuation", src: "FROM scratch\nRUN a \\\n", wantErr: "past the end"},
		{name: "heredoc", src: "FROM scratch\nRUN <<EOF\nx\nEOF\n", wantErr: "heredocs"},
		{name: "empty", src: "# nothing\n", wantErr: "no FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := validate.ParseDockerfile(tt.src)
			if tt.wantErr != "" {
				expect(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, df)
		})
	}
}

func FuzzParseDockerfile(f *testing.F) {
	for _, name := range []string{"owner.Dockerfile", "gateway.Dockerfile"} {
		raw, err := os.ReadFile(filepath.Clean(filepath.Join("..", "docker", name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add("FROM a AS b\nCOPY [\"x\", \"y\"]\nRUN \\\n")
	f.Fuzz(func(t *testing.T, src string) {
		df, err := validate.ParseDockerfile(src)
		if err != nil {
			return
		}
		if len(df.Stages) == 0 {
			t.Fatal("parsed without a stage")
		}
		for _, c := range df.ContextCopies() {
			if len(c.Sources) == 0 || c.Dest == "" {
				t.Fatalf("copy without source or destination: %+v", c)
			}
		}
	})
}

// goodDockerfile builds ./app/cmd/app of a two-module workspace (app, lib).
const goodDockerfile = `FROM golang:1.26.9-bookworm AS build
ENV CGO_ENABLED=0
WORKDIR /src
COPY go.work ./
COPY lib/go.mod lib/
COPY app app
RUN go build -trimpath -ldflags="-s -w" -o /out/app ./app/cmd/app
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
EXPOSE 7101
ENTRYPOINT ["/app"]
`

func TestCheckDockerfile(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"go.work", "lib/go.mod", "app/go.mod", "app/cmd/app/main.go"} {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	modules := []string{"app", "lib"}
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{name: "as it is"},
		{name: "unpatched Go", old: "golang:1.26.9-bookworm", new: "golang:1.26.8-bookworm", want: "want golang:1.26.9-bookworm"},
		{name: "root runtime image", old: "static-debian12:nonroot", new: "static-debian12:latest", want: "final stage is"},
		{name: "cgo", old: "ENV CGO_ENABLED=0\n", new: "", want: "CGO_ENABLED=0"},
		{name: "cgo set on the RUN line", old: "ENV CGO_ENABLED=0\n", new: "", want: ""},
		{name: "no trimpath", old: "-trimpath ", new: "", want: "-trimpath"},
		{name: "symbols kept", old: `-ldflags="-s -w" `, new: "", want: "-trimpath"},
		{name: "root user", old: "USER nonroot:nonroot", new: "USER root", want: `USER is "root"`},
		{name: "no EXPOSE", old: "EXPOSE 7101\n", new: "", want: "no EXPOSE"},
		{name: "shell-form ENTRYPOINT", old: `ENTRYPOINT ["/app"]`, new: "ENTRYPOINT /app", want: "exec-form ENTRYPOINT"},
		{name: "missing source", old: "COPY app app", new: "COPY app apps/x app", want: "apps/x does not exist"},
		{name: "workspace module not copied", old: "COPY lib/go.mod lib/\n", new: "", want: "lib/go.mod is not copied"},
		{name: "source outside the context", old: "COPY go.work ./", new: "COPY ../go.work ./", want: "outside the build context"},
		{name: "remote source", old: "COPY go.work ./", new: "ADD https://example.com/x go.work ./", want: "fetched at build time"},
		{name: "commands in the final stage", old: "USER nonroot", new: "RUN true\nUSER nonroot", want: "runs commands"},
		{name: "single stage", old: "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /out/app /app\n", new: "", want: "multi-stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := goodDockerfile
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("fixture lacks %q", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			if tt.name == "cgo set on the RUN line" {
				src = strings.Replace(src, "RUN go build", "RUN CGO_ENABLED=0 go build", 1)
			}
			df, err := validate.ParseDockerfile(src)
			if err != nil {
				t.Fatal(err)
			}
			policy := validate.ImagePolicy{Builder: "golang:1.26.9-bookworm", Runtime: "gcr.io/distroless/static-debian12:nonroot", User: "nonroot:nonroot"}
			expect(t, validate.CheckDockerfile(root, df, policy, modules), tt.want)
		})
	}
}

func TestStageContext(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"go.work", "lib/go.mod", "app/cmd/app/main.go"} {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	df, err := validate.ParseDockerfile(goodDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := validate.StageContext(root, df.ContextCopies(), dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.work", "lib/go.mod", "app/cmd/app/main.go"} {
		got, err := os.ReadFile(filepath.Clean(filepath.Join(dst, filepath.FromSlash(f))))
		if err != nil || string(got) != f {
			t.Errorf("staged %s: %q, %v", f, got, err)
		}
	}
	abs := []validate.Copy{{Line: 1, Sources: []string{"go.work"}, Dest: "/src/"}}
	if err := validate.StageContext(root, abs, t.TempDir()); err == nil {
		t.Error("an absolute destination was staged")
	}
}
