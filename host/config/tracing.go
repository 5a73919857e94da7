package config

import "fmt"

// MaxTracingSamplingRate is the highest --distributed-tracing-sampling-rate:
// every trace, as the rate counts per million.
const MaxTracingSamplingRate = 1_000_000

// checkTracingSamplingRate refuses a sampling rate outside 0 to a million,
// as etcd does when tracing is enabled.
func checkTracingSamplingRate(rate int) error {
	if rate < 0 || rate > MaxTracingSamplingRate {
		return fmt.Errorf("--distributed-tracing-sampling-rate %d: must be 0 to %d (per million)", rate, MaxTracingSamplingRate)
	}
	return nil
}
