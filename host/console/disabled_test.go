package console_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// --enable-console=false, METASTORE_ENABLE_CONSOLE=false and
// enable-console: false in the config file each serve no console; the
// gateway and the health endpoints stay.
func TestConsoleDisabled(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("enable-console: false\n"), 0o600))
	for name, opt := range map[string]hosttest.Option{
		"flag":        hosttest.WithArgs("--enable-console=false"),
		"environment": hosttest.WithEnv("METASTORE_ENABLE_CONSOLE=false"),
		"config file": hosttest.WithArgs("--config-file", cfgFile),
	} {
		t.Run(name, func(t *testing.T) {
			m := hosttest.StartMember(t, opt)
			for path, want := range map[string]int{"/ui/": http.StatusNotFound, "/ui/keys": http.StatusNotFound, "/health": http.StatusOK} {
				resp, err := http.Get(m.Endpoint() + path)
				require.NoError(t, err)
				_ = resp.Body.Close()
				require.Equal(t, want, resp.StatusCode, path)
			}
		})
	}
}
