package statictoken_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/auth/authtest"

	statictoken "example.com/metastore-plugins/auth-static-token"
)

const tokens = `# token user groups
tok-alice alice dev,ops
tok-ci    ci
`

func tokenFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fixture(newProvider func(t *testing.T) auth.Provider) authtest.Fixture {
	return authtest.Fixture{
		New: newProvider,
		Tokens: []authtest.Token{
			{Token: "tok-alice", Want: auth.Identity{User: "alice", Groups: []string{"dev", "ops"}}},
			{Token: "tok-ci", Want: auth.Identity{User: "ci"}},
		},
		RejectedTokens: []string{"tok-bob", "alice", "# token"},
	}
}

func newProvider(t *testing.T) auth.Provider {
	p, err := statictoken.New(tokenFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) { authtest.Run(t, fixture(newProvider)) }

func TestConformanceOverGRPC(t *testing.T) {
	authtest.Run(t, fixture(func(t *testing.T) auth.Provider { return authtest.OverGRPC(t, newProvider(t)) }))
}

func TestConformancePlugin(t *testing.T) {
	bin := authtest.BuildPlugin(t, "example.com/metastore-plugins/auth-static-token/cmd/metastore-auth-static-token")
	authtest.Run(t, fixture(func(t *testing.T) auth.Provider {
		return authtest.LaunchPlugin(t, bin, "METASTORE_STATIC_TOKEN_FILE="+tokenFile(t))
	}))
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"one field":    "tok-alice\n",
		"four fields":  "tok a b c\n",
		"listed twice": "tok a\ntok b\n",
	} {
		path := filepath.Join(dir, "tokens")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := statictoken.New(path); err == nil {
			t.Errorf("%s: New accepted %q", name, text)
		}
	}
	if _, err := statictoken.New(filepath.Join(dir, "missing")); err == nil {
		t.Error("New accepted a missing file")
	}
}
