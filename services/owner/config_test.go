package owner_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lillvet/register/services/owner"
	"github.com/lillvet/register/services/platform/config"
)

// TestSecretsFromFiles: the identity keys and the active one's id, the blind-index key
// and the database URI may come from files, as Kubernetes mounts Secrets, and are then checked as if they
// came from the environment.
func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keys := "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	index := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("i", 32)))
	uri := "mongodb://db.example:27017/?replicaSet=rs0&authSource=owner"
	var cfg owner.Config
	err := config.LoadFrom(&cfg, map[string]string{
		"IDENTITY_KEYS_FILE": file("keys", keys), "IDENTITY_ACTIVE_KEY_FILE": file("active", "k1"),
		"BLIND_INDEX_KEY_FILE": file("index", index), "MONGO_URI_FILE": file("uri", uri),
	})
	if cfg.IdentityKeys != keys || cfg.IdentityActiveKey != "k1" || cfg.BlindIndexKey != index || cfg.Mongo.URI != uri {
		t.Fatalf("loaded keys %q, active key %q, index %q, URI %q", cfg.IdentityKeys, cfg.IdentityActiveKey, cfg.BlindIndexKey, cfg.Mongo.URI)
	}
	// The rest of the configuration is missing, so loading fails, but not on these.
	for _, name := range []string{"IDENTITY_KEYS", "IDENTITY_ACTIVE_KEY", "BLIND_INDEX_KEY", "MONGO_URI"} {
		if err != nil && strings.Contains(err.Error(), name) {
			t.Errorf("load error names %s: %v", name, err)
		}
	}
}
