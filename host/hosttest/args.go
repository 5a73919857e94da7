package hosttest

import "slices"

// SetArgs replaces the arguments WithArgs gave. The next Start, Restart or
// Join passes them, so a test can restart a member with other flags.
func (m *Process) SetArgs(args ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg.args = slices.Clone(args)
}
