package embedded

import "strings"

// DirectURI is the address of FerretDB's own socket behind the proxy, for tests that
// compare what the proxy does with what FerretDB does alone.
func DirectURI(s *Store) string {
	return strings.Replace(s.uri, proxySocket, ferretDBSocket, 1)
}
