package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line int
	// Cmd is the instruction in upper case: FROM, RUN, COPY, ...
	Cmd string
	// Flags are the leading --name=value options (COPY --from=build, ...).
	Flags []string
	// Args are the remaining arguments: the exec form's elements, or the
	// shell form split on white space.
	Args []string
	// Exec reports the JSON (exec) form.
	Exec bool
	// Text is everything after the instruction and its flags, as written.
	Text string
}

// Stage is one FROM and the instructions under it.
type Stage struct {
	Image, Name  string
	Instructions []Instruction
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Stages []Stage
}

func knownInstructions() []string {
	return []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
		"LABEL", "ONBUILD", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "RUN"}
}

// ParseDockerfile parses the subset of the Dockerfile syntax the project's
// files use: instructions, continuation lines, comments and parser
// directives, shell and exec forms. Heredocs are refused.
func ParseDockerfile(src string) (Dockerfile, error) {
	var (
		df      Dockerfile
		pending strings.Builder
		start   int
	)
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		// Docker drops comment and empty lines, inside continuations too.
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if body, more := strings.CutSuffix(trimmed, `\`); more {
			pending.WriteString(body)
			pending.WriteString(" ")
			continue
		}
		pending.WriteString(trimmed)
		ins, err := parseInstruction(start, pending.String())
		pending.Reset()
		if err != nil {
			return Dockerfile{}, err
		}
		if err := df.add(ins); err != nil {
			return Dockerfile{}, err
		}
	}
	if pending.Len() > 0 {
		return Dockerfile{}, fmt.Errorf("line %d: continuation runs past the end of the file", start)
	}
	if len(df.Stages) == 0 {
		return Dockerfile{}, errors.New("no FROM instruction")
	}
	return df, nil
}

func parseInstruction(line int, text string) (Instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	ins := Instruction{Line: line, Cmd: strings.ToUpper(cmd)}
	if !slices.Contains(knownInstructions(), ins.Cmd) {
		return Instruction{}, fmt.Errorf("line %d: unknown instruction %q", line, cmd)
	}
	rest = strings.TrimSpace(rest)
	if strings.Contains(rest, "<<") && (ins.Cmd == "RUN" || ins.Cmd == "COPY") {
		return Instruction{}, fmt.Errorf("line %d: heredocs are not supported by deploy/validate", line)
	}
	if ins.Cmd == "FROM" || ins.Cmd == "COPY" || ins.Cmd == "ADD" || ins.Cmd == "RUN" {
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			ins.Flags = append(ins.Flags, flag)
			rest = strings.TrimSpace(after)
		}
	}
	ins.Text = rest
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &ins.Args); err != nil {
			return Instruction{}, fmt.Errorf("line %d: %s: exec form is not a JSON array of strings: %w", line, ins.Cmd, err)
		}
		ins.Exec = true
		return ins, nil
	}
	ins.Args = strings.Fields(rest)
	return ins, nil
}

func (df *Dockerfile) add(ins Instruction) error {
	if ins.Cmd == "FROM" {
		st := Stage{}
		switch len(ins.Args) {
		case 1:
			st.Image = ins.Args[0]
		case 3:
			if !strings.EqualFold(ins.Args[1], "AS") {
				return fmt.Errorf("line %d: FROM wants IMAGE [AS NAME]", ins.Line)
			}
			st.Image, st.Name = ins.Args[0], ins.Args[2]
		default:
			return fmt.Errorf("line %d: FROM wants IMAGE [AS NAME]", ins.Line)
		}
		df.Stages = append(df.Stages, st)
		return nil
	}
	if len(df.Stages) == 0 {
		if ins.Cmd == "ARG" {
			return nil
		}
		return fmt.Errorf("line %d: %s before the first FROM", ins.Line, ins.Cmd)
	}
	last := &df.Stages[len(df.Stages)-1]
	last.Instructions = append(last.Instructions, ins)
	return nil
}

// Flag returns the value of a --name=value flag.
func (ins Instruction) Flag(name string) (string, bool) {
	for _, f := range ins.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Copy is a COPY or ADD from the build context.
type Copy struct {
	Line    int
	Sources []string
	Dest    string
}

// ContextCopies lists the COPY and ADD instructions that read the build
// context (not another stage).
func (df Dockerfile) ContextCopies() []Copy {
	var out []Copy
	for _, st := range df.Stages {
		for _, ins := range st.Instructions {
			if ins.Cmd != "COPY" && ins.Cmd != "ADD" {
				continue
			}
			if _, other := ins.Flag("from"); other || len(ins.Args) < 2 {
				continue
			}
			out = append(out, Copy{Line: ins.Line, Sources: ins.Args[:len(ins.Args)-1], Dest: ins.Args[len(ins.Args)-1]})
		}
	}
	return out
}

// BuildTarget returns the package of the build stage's `go build`.
func (df Dockerfile) BuildTarget() (string, error) {
	for _, ins := range df.Stages[0].Instructions {
		if ins.Cmd == "RUN" && strings.Contains(ins.Text, "go build") && len(ins.Args) > 0 {
			return ins.Args[len(ins.Args)-1], nil
		}
	}
	return "", errors.New("the first stage has no RUN go build")
}

// ImagePolicy is what every image of the project is built with.
type ImagePolicy struct {
	// Builder is the first stage's image: a patched Go.
	Builder string
	// Runtime is the last stage's image: minimal and non-root.
	Runtime string
	// User is the last stage's USER.
	User string
}

// CheckDockerfile checks a service image's Dockerfile against the policy and
// its build context (the repository root): every source it copies exists,
// and it copies the go.mod (and go.sum) of every workspace module, which the
// go command needs in workspace mode.
func CheckDockerfile(root string, df Dockerfile, policy ImagePolicy, modules []string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(df.Stages) < 2 {
		fail("want a multi-stage build, got %d stage(s)", len(df.Stages))
	}
	build, final := df.Stages[0], df.Stages[len(df.Stages)-1]
	if build.Image != policy.Builder {
		fail("build stage is %s, want %s", build.Image, policy.Builder)
	}
	if final.Image != policy.Runtime {
		fail("final stage is %s, want %s", final.Image, policy.Runtime)
	}
	if !stageSets(build, "CGO_ENABLED=0") {
		fail("build stage does not set CGO_ENABLED=0: the binary must be static")
	}
	if target, err := df.BuildTarget(); err != nil {
		errs = append(errs, err)
	} else if !strings.HasPrefix(target, "./") {
		fail("go build target %q is not a package path of the workspace", target)
	}
	for _, ins := range build.Instructions {
		if ins.Cmd == "RUN" && strings.Contains(ins.Text, "go build") {
			if !strings.Contains(ins.Text, "-trimpath") || !strings.Contains(ins.Text, `-ldflags="-s -w"`) {
				fail(`line %d: go build needs -trimpath -ldflags="-s -w"`, ins.Line)
			}
		}
	}
	user, exposes, entry := "", false, false
	for _, ins := range final.Instructions {
		switch ins.Cmd {
		case "USER":
			user = ins.Text
		case "EXPOSE":
			exposes = len(ins.Args) > 0
		case "ENTRYPOINT":
			entry = ins.Exec && len(ins.Args) > 0
		case "RUN":
			fail("line %d: the final stage runs commands; it has no shell", ins.Line)
		}
	}
	if user != policy.User {
		fail("final stage USER is %q, want %q", user, policy.User)
	}
	if !exposes {
		fail("final stage has no EXPOSE")
	}
	if !entry {
		fail("final stage has no exec-form ENTRYPOINT")
	}
	errs = append(errs, checkCopies(root, df.ContextCopies(), modules)...)
	return errors.Join(errs...)
}

func stageSets(st Stage, assignment string) bool {
	for _, ins := range st.Instructions {
		if (ins.Cmd == "ENV" || ins.Cmd == "RUN") && slices.Contains(ins.Args, assignment) {
			return true
		}
	}
	return false
}

func checkCopies(root string, copies []Copy, modules []string) []error {
	var (
		errs   []error
		copied []string
	)
	for _, c := range copies {
		for _, src := range c.Sources {
			if strings.Contains(src, "://") {
				errs = append(errs, fmt.Errorf("line %d: %s is fetched at build time; vendor it or use a stage", c.Line, src))
				continue
			}
			clean := path.Clean(src)
			if clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
				errs = append(errs, fmt.Errorf("line %d: %s is outside the build context", c.Line, src))
				continue
			}
			matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(clean)))
			if err != nil || len(matches) == 0 {
				errs = append(errs, fmt.Errorf("line %d: COPY source %s does not exist in the build context", c.Line, src))
				continue
			}
			copied = append(copied, clean)
		}
	}
	for _, m := range modules {
		for _, f := range []string{"go.mod", "go.sum"} {
			file := path.Join(m, f)
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(file))); err != nil {
				continue
			}
			if !coveredBy(file, copied) {
				errs = append(errs, fmt.Errorf("workspace module %s: %s is not copied, and go.work needs it", m, file))
			}
		}
	}
	return errs
}

// coveredBy reports whether file is one of the copied sources or inside one.
func coveredBy(file string, copied []string) bool {
	for _, c := range copied {
		if c == "." || c == file || strings.HasPrefix(file, c+"/") {
			return true
		}
	}
	return false
}
