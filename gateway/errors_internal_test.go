package gateway

import (
	"strings"
	"testing"
)

// FuzzDecodeLines: a decoding message is split only into unknown keys' lines, and
// nothing of it is lost either way.
func FuzzDecodeLines(f *testing.F) {
	for _, msg := range []string{
		"",
		`unknown query parameter "phon"` + "\n" + "unknown query parameter",
		`too many values for field "name": a, b` + "\n" + `unknown query parameter "Virtanen"`,
		`unknown query parameter "a"` + "\n",
	} {
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		lines := decodeLines(msg)
		if strings.Join(lines, "\n") != msg {
			t.Fatalf("decodeLines(%q) = %q, which is not the message", msg, lines)
		}
		if len(lines) == 1 {
			return
		}
		for _, line := range lines {
			if !unknownKeyLine.MatchString(line) {
				t.Fatalf("decodeLines(%q) split off %q, no unknown key's line", msg, line)
			}
		}
	})
}
