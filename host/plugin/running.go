package plugin

import "sync"

// running is the supervised plugins of one kind of the running members
// of this process, which a config reload reconfigures.
type running[P comparable] struct {
	mu      sync.Mutex
	plugins map[P]bool
}

func newRunning[P comparable]() *running[P] {
	return &running[P]{plugins: map[P]bool{}}
}

func (r *running[P]) add(p P) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.plugins[p] = true
}

func (r *running[P]) remove(p P) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.plugins, p)
}

// each calls f with every plugin, holding the set: a plugin's Close,
// which removes it first, waits until f is done with it.
func (r *running[P]) each(f func(P)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.plugins {
		f(p)
	}
}
