package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CorruptionConfig holds the corruption check settings, under etcd 3.7's
// names: --feature-gates (InitialCorruptCheck, CompactHashCheck),
// --corrupt-check-time and --compact-hash-check-time.
type CorruptionConfig struct {
	// FeatureGates is etcd's "Name=bool,..." list.
	FeatureGates string `koanf:"feature-gates"`
	// CorruptCheckTime is how often the leader compares the followers'
	// hashes ("0s": never).
	CorruptCheckTime string `koanf:"corrupt-check-time"`
	// CompactHashCheckTime is how often the leader checks the hashes
	// compactions took, with CompactHashCheck on.
	CompactHashCheckTime string `koanf:"compact-hash-check-time"`

	initialCheck     bool
	compactHashCheck bool
	corruptEvery     time.Duration
	compactHashEvery time.Duration
}

// corruptionDefaults are etcd's defaults of the settings above.
func corruptionDefaults() map[string]any {
	return map[string]any{
		"feature-gates":           "",
		"corrupt-check-time":      "0s",
		"compact-hash-check-time": "1m0s",
	}
}

// etcdFeatureGates are etcd 3.7's server feature gates with their
// defaults. MetaStore implements the two corruption checks; any other
// gate may be named only with its default value, which MetaStore's
// behaviour matches or does not depend on.
var etcdFeatureGates = map[string]bool{
	"StopGRPCServiceOnDefrag": false, "InitialCorruptCheck": false, "CompactHashCheck": false,
	"TxnModeWriteWithSharedBuffer": true, "LeaseCheckpoint": false, "LeaseCheckpointPersist": false,
	"SetMemberLocalAddr": false, "FastLeaseKeepAlive": true, "PriorityRequest": false,
}

// FeatureEnabled reports whether etcd's feature gate name is on: the two
// corruption checks as configured, every other gate at etcd's default
// (AllAlpha and AllBeta off).
func (c CorruptionConfig) FeatureEnabled(name string) bool {
	switch name {
	case "InitialCorruptCheck":
		return c.initialCheck
	case "CompactHashCheck":
		return c.compactHashCheck
	}
	return etcdFeatureGates[name]
}

// finish parses the settings.
func (c *CorruptionConfig) finish() error {
	for _, kv := range strings.Split(c.FeatureGates, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, raw, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--feature-gates: missing bool value for %s", kv)
		}
		name = strings.TrimSpace(name)
		def, known := etcdFeatureGates[name]
		if !known {
			return fmt.Errorf("--feature-gates: unrecognized feature gate: %s", name)
		}
		on, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("--feature-gates: invalid value of %s=%s, err: %v", name, raw, err)
		}
		switch name {
		case "InitialCorruptCheck":
			c.initialCheck = on
		case "CompactHashCheck":
			c.compactHashCheck = on
		default:
			if on != def {
				return fmt.Errorf("--feature-gates: %s=%t is not supported by MetaStore", name, on)
			}
		}
	}
	var err error
	if c.corruptEvery, err = time.ParseDuration(c.CorruptCheckTime); err != nil || c.corruptEvery < 0 {
		return fmt.Errorf("invalid --corrupt-check-time %q: want a duration", c.CorruptCheckTime)
	}
	if c.compactHashEvery, err = time.ParseDuration(c.CompactHashCheckTime); err != nil || c.compactHashEvery <= 0 {
		return fmt.Errorf("--compact-hash-check-time must be >0 (set to %v)", c.CompactHashCheckTime)
	}
	return nil
}

// InitialCheck reports whether a member with data compares its hash with
// its peers' before it joins raft (InitialCorruptCheck).
func (c CorruptionConfig) InitialCheck() bool { return c.initialCheck }

// CompactHashCheck reports whether the leader checks the hashes
// compactions took (CompactHashCheck).
func (c CorruptionConfig) CompactHashCheck() bool { return c.compactHashCheck }

// CorruptCheckInterval is how often the leader compares the followers'
// hashes; 0: never.
func (c CorruptionConfig) CorruptCheckInterval() time.Duration { return c.corruptEvery }

// CompactHashCheckInterval is how often the leader checks the compaction
// hashes, with CompactHashCheck.
func (c CorruptionConfig) CompactHashCheckInterval() time.Duration { return c.compactHashEvery }
