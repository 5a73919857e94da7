package host

import (
	"runtime"
	"sync"
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
