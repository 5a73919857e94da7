package config

// MemoryConfig holds MetaStore's own memory settings (etcd has none).
type MemoryConfig struct {
	// ValueCacheBytes bounds the cache of recently read and written
	// values, in bytes. 0: the default, 16 MiB; negative: no cache.
	ValueCacheBytes int64 `koanf:"value-cache-bytes"`
	// MemoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT), in
	// bytes: near it the garbage collector runs more often and returns
	// freed memory to the OS sooner. 0: set from the GOMEMLIMIT
	// environment variable if given, else to 90% of the cgroup's memory
	// limit if the process runs under one, else none; negative: none.
	MemoryLimit int64 `koanf:"memory-limit"`
	// GCHeapFloor is the heap size, in bytes, up to which the garbage
	// collector lets the heap grow between cycles while the live heap is
	// less than half of it: after each cycle, and every tenth of a second
	// between them, GOGC is set so that the next starts once the heap has
	// grown by what a quarter second allocates at the recent rate (an
	// average that follows a rise within 50 ms and a fall within 150 ms),
	// at most to the floor and never before one and a half times the live
	// heap (GOGC=50). 0: the default, 32 MiB;
	// negative: none. A GOGC environment variable turns it off.
	GCHeapFloor int64 `koanf:"gc-heap-floor"`
}

func memoryDefaults() map[string]any {
	return map[string]any{"value-cache-bytes": int64(0), "memory-limit": int64(0), "gc-heap-floor": int64(0)}
}
