package main

import (
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
)

// TestConfigurationTableMatchesTheBinaries holds the README's configuration table to
// what the binaries read: an operator sets up a deployment from it, so a variable
// missing there, one no binary reads any more or a default that changed in the code
// alone is a deployment that does not do what its author meant.
func TestConfigurationTableMatchesTheBinaries(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := configRows(t, string(readme))
	binaries := map[string][]config.Variable{
		"owner":        config.Variables(owner.Config{}),
		"consent":      config.Variables(consent.Config{}),
		"disclosure":   config.Variables(disclosure.Config{}),
		"history":      config.Variables(history.Config{}),
		"gateway":      config.Variables(gateway.Config{}),
		"local runner": config.Variables(Config{}),
	}
	for bin, vars := range binaries {
		for _, v := range vars {
			if !slices.ContainsFunc(rows, func(r configRow) bool { return r.users[bin] && r.lists(v.Name) }) {
				t.Errorf("%s reads %s, which no row of the table lists for it", bin, v.Name)
			}
		}
	}
	for _, r := range rows {
		for i, name := range r.names {
			if strings.HasPrefix(name, "OTEL_") {
				continue // the OpenTelemetry SDK's own variables
			}
			var read bool
			for bin, vars := range binaries {
				if !r.users[bin] {
					continue
				}
				for _, v := range vars {
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

// configRows reads the table under the README's "## Configuration" heading.
func configRows(t *testing.T, readme string) []configRow {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Configuration\n")
	if !ok {
		t.Fatal(`README has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []configRow
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) < 4 {
			continue
		}
		r := configRow{users: map[string]bool{}, defaults: strings.Split(cells[2], ", ")}
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

// lists reports whether the row names the variable, itself or by a pattern.
func (r configRow) lists(name string) bool {
	return slices.ContainsFunc(r.names, func(n string) bool {
		return n == name || strings.Contains(n, "*") && wildcard(n).MatchString(name)
	})
}

// defaultOf returns the default the row gives its i-th name: the entries pair with
// the names, with the names that are no patterns, or one entry stands for all of
// them. ok is false for a pattern or when the entries cannot be paired.
func (r configRow) defaultOf(i int) (string, bool) {
	plain := slices.DeleteFunc(slices.Clone(r.names), func(n string) bool { return strings.Contains(n, "*") })
	var entry string
	switch {
	case strings.Contains(r.names[i], "*"):
		return "", false
	case len(r.defaults) == len(r.names):
		entry = r.defaults[i]
	case len(r.defaults) == len(plain):
		entry = r.defaults[slices.Index(plain, r.names[i])]
	case len(r.defaults) == 1:
		entry = r.defaults[0]
	default:
		return "", false
	}
	word, _, _ := strings.Cut(entry, " (")
	if m := backticked.FindStringSubmatch(entry); m != nil {
		word = m[1]
	}
	switch word {
	case "—", "unset", "required", "false": // no envDefault: the zero value
		return "", true
	case "1 MiB":
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
