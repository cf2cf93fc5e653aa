package main

import (
	"remedy/inventory"
	"remedy/runner"
)

// inShard keeps the hosts --shard K/N holds (all of them without it).
// A shard may hold none of a small selection: it then runs on no host
// and its -o json still merges (remedy report merge).
func inShard(hosts []*inventory.Host, spec string) ([]*inventory.Host, error) {
	shard, err := runner.ParseShard(spec)
	if err != nil {
		return nil, err
	}
	var out []*inventory.Host
	for _, h := range hosts {
		if shard.Holds(h.Name) {
			out = append(out, h)
		}
	}
	return out, nil
}
