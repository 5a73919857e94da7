package plugin

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/host/config"
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

// launch starts the plugin process of a supervised entry, whatever its
// kind: start is the kind's Launch in pluginapi (storage.Launch,
// auth.Launch, quota.Launch). The process's calls are counted and timed,
// and the launch counts as a restart when one of its kind and name ran
// before in this process. Errors name the plugin's kind and name. It
// returns the process and the plugin's logger (plugin.<kind>.<name>).
func launch[P any](lg *zap.Logger, entry config.PluginEntry, start func(pluginrpc.ClientConfig) (P, error)) (P, *zap.Logger, error) {
	var none P
	sum, err := hex.DecodeString(entry.SHA256)
	if err != nil {
		return none, nil, fmt.Errorf("%s plugin %q: sha256: %w", entry.Kind, entry.Name, err)
	}
	proc, plg, err := spawn(lg, entry, sum, observeLaunch(entry), start)
	recordLaunch(entry, err)
	if err != nil {
		return none, nil, fmt.Errorf("%s plugin %q: %w", entry.Kind, entry.Name, err)
	}
	return proc, plg, nil
}

// spawn is what every start of a plugin process shares, supervised
// (launch) or inspected once (Inspect), which differ only in the dial
// options (an inspection's calls are not counted) and in how they report
// errors: the binary with the entry's args, the host's environment plus
// the entry's env, a parent-death signal, the checksum sum to verify, the
// plugin's logs and output re-logged under its name, started from the
// spawner's thread.
func spawn[P any](lg *zap.Logger, entry config.PluginEntry, sum []byte, dial []grpc.DialOption,
	start func(pluginrpc.ClientConfig) (P, error)) (P, *zap.Logger, error) {
	plg := newPluginLogger(lg, entry.Kind, entry.Name)
	cmd := exec.Command(entry.Path, entry.Args...)
	cmd.Env, dial = withTracing(os.Environ(), dial)
	for k, v := range entry.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = sysProcAttr()
	cfg := pluginrpc.ClientConfig{Cmd: cmd, SHA256: sum, Logger: plg, Output: pluginOutput{plg.lg}, DialOptions: dial}
	var (
		proc P
		err  error
	)
	spawner().do(func() { proc, err = start(cfg) })
	return proc, plg.lg, err
}

// alive checks a plugin process: it has not exited, and it answers
// go-plugin's health service within timeout.
func alive(proc interface {
	Exited() bool
	Ping() error
}, timeout time.Duration) error {
	if proc.Exited() {
		return errors.New("plugin process exited")
	}
	return pingWithin(proc.Ping, timeout)
}

// every calls tick each interval until it returns false or stop or
// failed closes (a nil failed never does): the loop of every supervisor.
func every(interval time.Duration, stop, failed <-chan struct{}, tick func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-failed:
			return
		case <-t.C:
		}
		if !tick() {
			return
		}
	}
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
