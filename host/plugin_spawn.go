package host

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// pluginSpawner starts plugin processes from one OS thread that stays
// alive as long as the host. A plugin's parent-death signal (Pdeathsig)
// fires when the thread that started it exits, not only the process, and Go
// ends threads whose goroutine exits while locked to them; starting every
// plugin from a goroutine locked to a thread of its own, which never exits,
// makes the signal mean "the host died".
type pluginSpawner struct {
	jobs chan func()
}

var spawner = sync.OnceValue(func() *pluginSpawner {
	s := &pluginSpawner{jobs: make(chan func())}
	go s.loop()
	return s
})

func (s *pluginSpawner) loop() {
	runtime.LockOSThread() // never unlocked: this thread lives with the host
	for job := range s.jobs {
		job()
	}
}

// do runs f on the spawner thread and waits for it.
func (s *pluginSpawner) do(f func()) {
	done := make(chan struct{})
	s.jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}

// pluginClientConfig is how the host starts the plugin process of entry,
// whatever its kind: the binary with the entry's args, the host's
// environment plus the entry's env, a parent-death signal, the checksum to
// verify, the plugin's logs and output re-logged under its name (the
// returned logger), and the dial options that count and time its calls
// (the launch counts as a restart when one of its kind and name ran
// before). Start it from the spawner's thread.
func pluginClientConfig(lg *zap.Logger, entry PluginConfig) (pluginrpc.ClientConfig, *zap.Logger, error) {
	sum, err := hex.DecodeString(entry.SHA256)
	if err != nil {
		return pluginrpc.ClientConfig{}, nil, fmt.Errorf("%s plugin %q: sha256: %w", entry.Kind, entry.Name, err)
	}
	plg := newPluginLogger(lg, entry.Kind, entry.Name)
	cmd := exec.Command(entry.Path, entry.Args...)
	cmd.Env = os.Environ()
	for k, v := range entry.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = pluginSysProcAttr()
	cfg := pluginrpc.ClientConfig{Cmd: cmd, SHA256: sum, Logger: plg, Output: pluginOutput{plg.lg},
		DialOptions: observePluginLaunch(entry)}
	return cfg, plg.lg, nil
}

// pingWithin calls ping (go-plugin's Ping takes no context) and waits at
// most timeout for its answer.
func pingWithin(ping func() error, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- ping() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("plugin did not answer a ping: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("plugin did not answer a ping within %v", timeout)
	}
}
