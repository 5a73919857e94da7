package hosttest

import "fmt"

// PrefixQuotaConfig is a member config file that runs the prefix-quota
// plugin binary bin (whose sha256 is sum), pinged every 200ms, with
// prefixes as the prefixes section of its config (YAML list items indented
// eight spaces).
func PrefixQuotaConfig(bin, sum, prefixes string) string {
	return fmt.Sprintf(`quota-policy: prefix-quota
plugins:
  - kind: quota
    name: prefix-quota
    path: %s
    sha256: %s
    ping-interval: 200ms
    config:
      prefixes:
%s`, bin, sum, prefixes)
}
