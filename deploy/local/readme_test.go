package main

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lillvet/register/gateway"
	"github.com/lillvet/register/services/consent"
	"github.com/lillvet/register/services/disclosure"
	"github.com/lillvet/register/services/history"
	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
	"github.com/lillvet/register/services/platform/devpki"
)

// TestConfigurationTableMatchesTheBinaries holds the README's configuration table to
// what the binaries read: an operator sets up a deployment from it, so a variable
// missing there, one no binary reads any more, a default that changed in the code
// alone or a "required" that the binary does not hold to (or one it holds to that the
// table does not say) is a deployment that does not do what its author meant.
func TestConfigurationTableMatchesTheBinaries(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := configRows(t, string(readme))
	binaries := map[string]binary{
		"owner":        binaryOf[owner.Config](),
		"consent":      binaryOf[consent.Config](),
		"disclosure":   binaryOf[disclosure.Config](),
		"history":      binaryOf[history.Config](),
		"gateway":      binaryOf[gateway.Config](),
		"local runner": binaryOf[Config](),
	}
	for bin, b := range binaries {
		for _, v := range b.vars {
			if !slices.ContainsFunc(rows, func(r configRow) bool { return r.users[bin] && r.lists(v.Name) }) {
				t.Errorf("%s reads %s, which no row of the table lists for it", bin, v.Name)
			}
		}
	}
	for _, r := range rows {
		if !r.paired() {
			t.Errorf("the defaults %q of %v pair neither with the names, nor with those that are no patterns, nor are one for all", r.defaults, r.names)
			continue
		}
		for i, name := range r.names {
			if strings.HasPrefix(name, "OTEL_") {
				continue // the OpenTelemetry SDK's own variables
			}
			var read bool
			for bin, b := range binaries {
				if !r.users[bin] {
					continue
				}
				for _, v := range b.vars {
					switch {
					case v.Name == name:
						read = true
						if want, ok := r.defaultOf(i); ok && v.Default != want {
							t.Errorf("the table gives %s (%s) the default %q, the code %q", name, bin, want, v.Default)
						}
					case v.FromFile && v.Name+"_FILE" == name, strings.Contains(name, "*") && wildcard(name).MatchString(v.Name):
						read = true
					}
				}
			}
			if !read {
				t.Errorf("the table lists %s, which none of %v reads", name, r.userList())
			}
		}
	}
	checkRequired(t, rows, binaries)
}

// checkRequired holds the table's "required" to the binaries: given only the
// variables the table marks required for it, each binary starts, so none it leaves
// unmarked is needed; and without any one of them it does not, so each is.
func checkRequired(t *testing.T, rows []configRow, binaries map[string]binary) {
	t.Helper()
	pki, err := devpki.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	// Valid values, for whichever variables the table marks required: what is
	// required comes from the table and the binaries alone.
	values := map[string]string{
		"TLS_CERT_FILE": pki.CertFile, "TLS_KEY_FILE": pki.KeyFile,
		"MONGO_URI": "mongodb://127.0.0.1:27017", "MONGO_DATABASE": "register",
		"AUTH_JWKS_URL": "https://127.0.0.1:7100/jwks.json",
		"IDENTITY_KEYS": "k1:" + key, "IDENTITY_ACTIVE_KEY": "k1", "BLIND_INDEX_KEY": key,
		"REQUEST_DIGEST_KEY": key,
	}
	for _, r := range rows {
		for i, name := range r.names {
			if strings.Contains(name, "*") && len(r.defaults) == len(r.names) && strings.HasPrefix(r.defaults[i], "required") {
				t.Errorf("the table marks the pattern %s required: it stands for several variables, so name the required ones", name)
			}
		}
	}
	for bin, b := range binaries {
		var required []string
		environ := map[string]string{}
		for _, r := range rows {
			for i, name := range r.names {
				if r.users[bin] && r.marksRequired(i) {
					required = append(required, name)
					if v, ok := values[name]; ok {
						environ[name] = v
					}
				}
			}
		}
		if err := b.start(environ); err != nil {
			t.Errorf("%s refuses to start with only the variables the table marks required %v: %v", bin, required, err)
			continue
		}
		for _, name := range required {
			without := maps.Clone(environ)
			delete(without, name)
			if b.start(without) == nil {
				t.Errorf("the table marks %s required for %s, which starts without it", name, bin)
			}
		}
	}
}

// binary is what a binary reads and what it checks of that before it serves.
type binary struct {
	vars []config.Variable
	// start fails where the binary refuses to start on the environment given.
	start func(environ map[string]string) error
}

// binaryOf is the binary configured by C: it loads C, which validates it, the TLS
// files included, before the binary connects anywhere.
func binaryOf[C any]() binary {
	var zero C
	return binary{vars: config.Variables(zero), start: func(environ map[string]string) error {
		var cfg C
		return config.LoadFrom(&cfg, environ)
	}}
}

// configRow is a row of the README's configuration table.
type configRow struct {
	// names are the variables of the first column, patterns with * included.
	names []string
	// users are the binaries of the second column, groups spelled out.
	users map[string]bool
	// defaults are the third column's entries.
	defaults []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// configColumns is the number of columns of the README's configuration table:
// variable, used by, default, meaning.
const configColumns = 4

// configRows reads the table under the README's "## Configuration" heading; a row it
// cannot read is reported to t and left out.
func configRows(t testing.TB, readme string) []configRow {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Configuration\n")
	if !ok {
		t.Fatal(`README has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []configRow
	for line := range strings.Lines(section) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := tableCells(line)
		if len(cells) != configColumns {
			t.Errorf("configuration row %q has %d cells, want %d (write a pipe in a cell as \\|)", strings.TrimSpace(line), len(cells), configColumns)
			continue
		}
		r := configRow{users: map[string]bool{}, defaults: defaultEntries(cells[2])}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			r.names = append(r.names, m[1])
		}
		for _, u := range strings.FieldsFunc(cells[1], func(c rune) bool { return c == ',' || c == ';' }) {
			switch u = strings.TrimSpace(u); u {
			case "services":
				r.users["owner"], r.users["consent"], r.users["disclosure"], r.users["history"] = true, true, true, true
			case "all":
				for _, b := range []string{"owner", "consent", "disclosure", "history", "gateway", "local runner"} {
					r.users[b] = true
				}
			default:
				r.users[u] = true
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("README's configuration table has no rows")
	}
	return rows
}

// tableCells splits a table row into its cells, trimmed, as GitHub does: a cell ends
// at every "|" but an escaped one ("\|", which stands for the pipe itself, whatever
// comes before it), in a code span too, so that a row the test reads is the row a
// reader sees. The row's outer pipes end no cell.
func tableCells(row string) []string {
	row = strings.TrimPrefix(strings.TrimSpace(row), "|")
	var cells []string
	var cell strings.Builder
	ended := false // the row ends with a cell's closing pipe
	for i := 0; i < len(row); {
		n := 1
		switch {
		case strings.HasPrefix(row[i:], `\|`):
			n = 2
			cell.WriteByte('|')
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(row[i])
		}
		// Only a cell's end starts with a pipe: an escaped one starts with its backslash.
		ended = row[i] == '|'
		i += n
	}
	if !ended {
		cells = append(cells, strings.TrimSpace(cell.String()))
	}
	return cells
}

// defaultEntries splits a default cell into its entries at each ", " that is in no
// backticked value and no parenthesis: a default ("`a, b`") or a note on one
// ("unset (x, y)") may hold one.
func defaultEntries(cell string) []string {
	var entries []string
	inCode, depth, start := false, 0, 0
	for i := 0; i < len(cell); i++ {
		switch c := cell[i]; {
		case c == '`':
			inCode = !inCode
		case inCode:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && strings.HasPrefix(cell[i:], ", "):
			entries = append(entries, cell[start:i])
			start = i + len(", ")
		}
	}
	return append(entries, cell[start:])
}

// lists reports whether the row names the variable, itself or by a pattern.
func (r configRow) lists(name string) bool {
	return slices.ContainsFunc(r.names, func(n string) bool {
		return n == name || strings.Contains(n, "*") && wildcard(n).MatchString(name)
	})
}

// paired reports whether the row's default entries pair with its names, or with the
// names that are no patterns, or are one entry that stands for all of them.
func (r configRow) paired() bool {
	return slices.Contains([]int{len(r.names), len(r.plain()), 1}, len(r.defaults))
}

// plain are the row's names that are no patterns.
func (r configRow) plain() []string {
	return slices.DeleteFunc(slices.Clone(r.names), func(n string) bool { return strings.Contains(n, "*") })
}

// entry returns the first word of the default entry of the row's i-th name (the
// backticked value, or the text before a parenthesis); ok is false for a pattern
// or when the entries do not pair.
func (r configRow) entry(i int) (word string, ok bool) {
	var entry string
	switch {
	case strings.Contains(r.names[i], "*"):
		return "", false
	case len(r.defaults) == len(r.names):
		entry = r.defaults[i]
	case len(r.defaults) == len(r.plain()):
		entry = r.defaults[slices.Index(r.plain(), r.names[i])]
	case len(r.defaults) == 1:
		entry = r.defaults[0]
	default:
		return "", false
	}
	word, _, _ = strings.Cut(entry, " (")
	if m := backticked.FindStringSubmatch(entry); m != nil {
		word = m[1]
	}
	return word, true
}

// marksRequired reports whether the row marks its i-th name required.
func (r configRow) marksRequired(i int) bool {
	word, ok := r.entry(i)
	return ok && word == "required"
}

// defaultOf returns the default the row gives its i-th name; ok is false where
// entry's is.
func (r configRow) defaultOf(i int) (string, bool) {
	word, ok := r.entry(i)
	switch {
	case !ok:
		return "", false
	case slices.Contains([]string{"—", "unset", "required", "false"}, word): // no envDefault: the zero value
		return "", true
	case word == "1 MiB":
		return "1048576", true
	}
	return word, true
}

func (r configRow) userList() []string {
	var out []string
	for u := range r.users {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// wildcard turns a pattern such as OWNER_TLS_* into the variables it stands for.
func wildcard(pattern string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, "[A-Z0-9_]+") + "$")
}

// TestConfigRowDefaults: a default, or a note on one, that holds ", " is one entry,
// and entries that do not pair with the names are still found unpaired, so that
// TestConfigurationTableMatchesTheBinaries reports them.
func TestConfigRowDefaults(t *testing.T) {
	tests := []struct {
		name, row    string
		wantDefaults []string // what defaultOf gives each name
		wantPaired   bool
	}{
		{"one per name", "| `A`, `B`, `C` | owner | required, `x`, — | m |", []string{"", "x", ""}, true},
		{"a backticked default with a comma", "| `A`, `B` | owner | `x, y`, 3 | m |", []string{"x, y", "3"}, true},
		{"a note with a comma", "| `A`, `B` | owner | unset (refused, see below), `5s` | m |", []string{"", "5s"}, true},
		{"parentheses in a backticked default", "| `A`, `B` | owner | `(`, `a, (b` | m |", []string{"(", "a, (b"}, true},
		{"one for all", "| `A`, `B` | owner | `x, y` | m |", []string{"x, y", "x, y"}, true},
		{"more entries than names", "| `A`, `B` | owner | 1, 2, 3 | m |", nil, false},
		{"fewer entries than names", "| `A`, `B`, `C` | owner | `1, 2`, 3 | m |", nil, false},
		{"an escaped pipe in a backticked default", "| `A`, `B` | owner | `a \\| b`, `c` | m |", []string{"a | b", "c"}, true},
		{"an escaped pipe in a backticked meaning", "| `A`, `B` | owner | 1, 2 | m `x \\| y` |", []string{"1", "2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := configRows(t, "\n## Configuration\n\n| variable | used by | default | meaning |\n|---|---|---|---|\n"+tt.row+"\n")
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			r := rows[0]
			if r.paired() != tt.wantPaired {
				t.Fatalf("defaults %q of %v paired %v, want %v", r.defaults, r.names, r.paired(), tt.wantPaired)
			}
			for i, want := range tt.wantDefaults {
				if got, ok := r.defaultOf(i); !ok || got != want {
					t.Errorf("default of %s = %q (%v), want %q", r.names[i], got, ok, want)
				}
			}
		})
	}
}

// rowRecorder is a testing.TB that keeps the errors reported to it instead of failing.
type rowRecorder struct {
	testing.TB
	errors []string
}

func (r *rowRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestConfigRowCells: a row of other than the table's four cells (a pipe in a cell not
// escaped, a cell missing) is reported by name and left out, and the rows around it are
// still read, so that the table's other checks go on.
func TestConfigRowCells(t *testing.T) {
	tests := []struct {
		name, row string
		reported  bool
	}{
		{"four cells", "| `B` | owner | 1 | m |", false},
		{"an escaped pipe", "| `B` | owner | `a \\| b` | m |", false},
		{"a pipe not escaped", "| `B` | owner | 1 | m `x | y` |", true},
		{"a cell missing", "| `B` | owner | m |", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &rowRecorder{TB: t}
			rows := configRows(rec, "\n## Configuration\n\n| variable | used by | default | meaning |\n|---|---|---|---|\n"+
				"| `A` | owner | 1 | m |\n"+tt.row+"\n| `C` | owner | 3 | m |\n")
			var names []string
			for _, r := range rows {
				names = append(names, r.names...)
			}
			want := []string{"A", "B", "C"}
			if tt.reported {
				want = []string{"A", "C"}
			}
			if !slices.Equal(names, want) {
				t.Errorf("rows %q, want %q", names, want)
			}
			switch {
			case len(rec.errors) > 1 || tt.reported != (len(rec.errors) == 1):
				t.Errorf("errors %q, want one: %v", rec.errors, tt.reported)
			case tt.reported && !strings.Contains(rec.errors[0], tt.row):
				t.Errorf("error %q does not name the row", rec.errors[0])
			}
		})
	}
}

// TestTableCells: a row is cut into its cells at its pipes, as GitHub cuts it, in a
// code span too, but not at an escaped one.
func TestTableCells(t *testing.T) {
	tests := []struct {
		name, row string
		want      []string
	}{
		{"plain", "| `A` | owner | `1` | m |", []string{"`A`", "owner", "`1`", "m"}},
		{"a pipe in a code span", "| `A` | owner | `a | b` | m |", []string{"`A`", "owner", "`a", "b`", "m"}},
		{"an escaped pipe", `| a \| b | c |`, []string{"a | b", "c"}},
		{"an escaped pipe in a code span", "| `a \\| b` | c |", []string{"`a | b`", "c"}},
		{"a backslash before an escaped pipe", `| a \\| b |`, []string{`a \| b`}},
		{"an empty cell", "| a | | b |", []string{"a", "", "b"}},
		{"no outer pipes or spaces", "a|`b\\|c`|d", []string{"a", "`b|c`", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tableCells(tt.row); !slices.Equal(got, tt.want) {
				t.Errorf("tableCells(%q) = %q, want %q", tt.row, got, tt.want)
			}
		})
	}
}
