package main

import (
	"fmt"
	"os"

	"remedy/inventory"
	"remedy/runner/shard"
)

// inShard keeps the hosts --shard K/N holds (all of them without it).
// A shard may hold none of a small selection: it then runs on no host,
// says so on stderr, and its -o json still merges (remedy report merge),
// so a job of N shards does not fail for a fleet smaller than N.
func inShard(hosts []*inventory.Host, spec string) ([]*inventory.Host, error) {
	share, err := shard.Parse(spec)
	if err != nil {
		return nil, err
	}
	var out []*inventory.Host
	for _, h := range hosts {
		if share.Holds(h.Name) {
			out = append(out, h)
		}
	}
	if len(out) == 0 && len(hosts) > 0 {
		fmt.Fprintf(os.Stderr, "remedy: --shard %s holds none of the %d hosts selected: nothing to run\n", share, len(hosts))
	}
	return out, nil
}
