package output

import (
	"fmt"
	"io"

	"remedy/runner/recap"
)

// RetryHosts lists, sorted by name, the hosts worth running again: those
// the recap shows with failed > 0 or unreachable > 0. Hosts whose only
// failures were ignored are not listed, as in Ansible.
func RetryHosts(r recap.Recap) []string {
	var hosts []string
	for _, h := range sortedHosts(r.Hosts) {
		if needsRetry(h) {
			hosts = append(hosts, h.Host)
		}
	}
	return hosts
}

func needsRetry(h recap.HostReport) bool {
	return h.Unreachable || h.Stats.Failed > 0 || h.Stats.Unreachable > 0
}

// WriteRetry writes the retry file: one host name per line, the format
// `-l @FILE` reads back. Nothing is written when no host needs a retry.
func WriteRetry(w io.Writer, r recap.Recap) error {
	for _, h := range RetryHosts(r) {
		if _, err := fmt.Fprintln(w, h); err != nil {
			return fmt.Errorf("write retry file: %w", err)
		}
	}
	return nil
}
