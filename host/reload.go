package host

import (
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/knadh/koanf/providers/file"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/metastore/metastore/host/config"
)

// configReloader reloads the configuration on SIGHUP and whenever the
// config file changes, from the same command line and environment as at
// start, and applies what can change live.
type configReloader struct {
	lg      *zap.Logger
	level   *zap.AtomicLevel
	args    []string
	environ []string
	file    string

	changed chan struct{} // the config file was written

	mu      sync.Mutex
	current config.Config // as last loaded, including refused changes
	stopc   chan struct{}
	wg      sync.WaitGroup
}

// startReloader starts watching for SIGHUP and, if there is one, the
// config file. Stop it with stop.
func startReloader(lg *zap.Logger, level *zap.AtomicLevel, cfg config.Config, opts config.Options, args, environ []string) *configReloader {
	r := &configReloader{lg: lg, level: level, args: args, environ: environ, current: cfg, stopc: make(chan struct{})}
	if opts.ConfigFile != "" {
		abs, err := filepath.Abs(opts.ConfigFile)
		if err != nil {
			abs = opts.ConfigFile
		}
		r.file = abs
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				r.reload("SIGHUP")
			case <-r.stopc:
				return
			}
		}
	}()
	if r.file != "" {
		r.changed = make(chan struct{}, 1)
		r.wg.Add(2)
		go r.watchFile()
		go r.reloadOnChange()
	}
	return r
}

// fileSettleTime is how long the config file must see no more writes
// before it is read: a write event may come from a truncation or a first
// partial write, and reading then would take half a file for the config.
const fileSettleTime = 200 * time.Millisecond

// reloadOnChange reloads once the config file has settled after changes.
func (r *configReloader) reloadOnChange() {
	defer r.wg.Done()
	for {
		select {
		case <-r.changed:
		case <-r.stopc:
			return
		}
		for settled := false; !settled; {
			select {
			case <-r.changed:
			case <-time.After(fileSettleTime):
				settled = true
			case <-r.stopc:
				return
			}
		}
		r.reload("config file changed")
	}
}

// watchFile reloads when the config file is written or replaced. An
// editor that replaces the file by renaming ends the watch; it is then set
// up again.
func (r *configReloader) watchFile() {
	defer r.wg.Done()
	for {
		ended := make(chan struct{})
		var once sync.Once
		fp := file.Provider(r.file)
		err := fp.Watch(func(_ any, err error) {
			if err != nil {
				r.lg.Debug("config file watch ended", zap.String("path", r.file), zap.Error(err))
				once.Do(func() { close(ended) })
				return
			}
			select {
			case r.changed <- struct{}{}:
			default:
			}
		})
		if err != nil {
			r.lg.Warn("cannot watch the config file for changes; SIGHUP still reloads it", zap.String("path", r.file), zap.Error(err))
			close(ended)
		}
		select {
		case <-r.stopc:
			_ = fp.Unwatch()
			return
		case <-ended:
		}
		select {
		case <-r.stopc:
			return
		case <-time.After(time.Second):
		}
		// The file may have been replaced while no watch was set.
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// reload loads the configuration again and applies it.
func (r *configReloader) reload(why string) {
	cfg, _, err := config.Load(r.args, r.environ)
	if err != nil {
		r.lg.Error("config reload failed; keeping the running configuration", zap.String("trigger", why), zap.Error(err))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := changedSettings(r.current, cfg)
	if len(changed) == 0 {
		r.lg.Debug("config reloaded: nothing changed", zap.String("trigger", why))
		return
	}
	// config's settings table says which keys change live (config.Live,
	// and config.LiveSometimes in the cases checked here); a change to any
	// other key is refused with a log line naming it.
	var applied, refused []string
	for _, key := range changed {
		if config.IsLive(key) || key == "plugins" && pluginsChangeLive(r.current, cfg) ||
			key == "auth-provider" && authProviderChangeLive(r.current, cfg) {
			applied = append(applied, key)
		} else {
			refused = append(refused, key)
		}
	}
	for _, key := range applied {
		switch key {
		case "log-level":
			r.setLevel(why, r.current.LogLevel, cfg.LogLevel)
		case "plugins":
			reconfigurePlugins(r.lg, why, cfg)
		case "auth-provider":
			reconfigureAuthPlugins(r.lg, why, cfg)
		}
	}
	if len(refused) > 0 {
		r.lg.WithOptions(zap.AddStacktrace(zapcore.FatalLevel)).Error("config change refused: these settings cannot change while the member runs; restart the member to apply them",
			zap.String("trigger", why), zap.Strings("settings", refused))
	}
	r.current = cfg
}

// setLevel switches the log level. The change is logged before it takes
// effect, at info or, if the old level hides info, at the old level, so
// that it shows under the level an operator had set.
func (r *configReloader) setLevel(why, from, to string) {
	old := r.level.Level()
	lvl, _ := config.ParseLogLevel(to) // Load validated it
	r.lg.Log(min(max(old, zapcore.InfoLevel), zapcore.ErrorLevel), "config reloaded: log level changed",
		zap.String("trigger", why), zap.String("from", from), zap.String("to", to))
	r.level.SetLevel(lvl)
}

// changedSettings returns the config keys whose values differ.
func changedSettings(a, b config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			continue // derived from the exported settings
		}
		key := t.Field(i).Tag.Get("koanf")
		if key == "" || key == "-" {
			key = t.Field(i).Name
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// stop stops watching.
func (r *configReloader) stop() {
	close(r.stopc)
	r.wg.Wait()
}
