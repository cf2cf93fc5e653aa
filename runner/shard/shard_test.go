package shard

import (
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		bad  bool
	}{
		{in: "", want: Shard{}},
		{in: "1/1", want: Shard{1, 1}},
		{in: "2/3", want: Shard{2, 3}},
		{in: "3/3", want: Shard{3, 3}},
		{in: "0/3", bad: true},
		{in: "4/3", bad: true},
		{in: "a/b", bad: true},
		{in: "1/0", bad: true},
		{in: "-1/3", bad: true},
		{in: "1", bad: true},
		{in: "1/3/5", bad: true},
		{in: " 1/3", bad: true},
	} {
		got, err := Parse(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// The N shards partition any selection: every host in exactly one.
func TestShardsPartition(t *testing.T) {
	names := fleet(0, 500)
	for _, n := range []int{1, 2, 3, 7, 16} {
		seen := map[string]int{}
		for k := 1; k <= n; k++ {
			share := 0
			for _, name := range names {
				if (Shard{k, n}).Holds(name) {
					seen[name]++
					share++
				}
			}
			// A share far from 1/n would mean a poor hash: with 500 hosts
			// each share is within a generous band around 500/n.
			if want := len(names) / n; n > 1 && (share < want/2 || share > want*3/2) {
				t.Errorf("shard %d/%d holds %d of %d hosts, want about %d", k, n, share, len(names), want)
			}
		}
		for _, name := range names {
			if seen[name] != 1 {
				t.Errorf("%d shards: %s is in %d of them, want 1", n, name, seen[name])
			}
		}
	}
}

// A host stays in its shard when hosts are added to or removed from the
// fleet: its shard depends on its name and N alone.
func TestShardStableWhenHostsAdded(t *testing.T) {
	const n = 3
	before := map[string]int{}
	for _, name := range fleet(0, 100) {
		before[name] = Of(name, n)
	}
	grown := append(fleet(100, 400), fleet(0, 100)...)
	for k := 1; k <= n; k++ {
		for _, name := range grown {
			if was, ok := before[name]; ok && (Shard{k, n}).Holds(name) != (was == k) {
				t.Errorf("%s moved from shard %d when hosts were added", name, was)
			}
		}
	}
	// Recorded placements, computed outside Go as docs/scale.md says
	// (printf %s NAME | sha256sum, the first 16 hex digits modulo N, plus
	// 1): the hash is part of the interface, so it must not change.
	for _, tc := range []struct {
		name    string
		n, want int
	}{{"h1", 3, 1}, {"h2", 3, 2}, {"h3", 3, 1}, {"h4", 3, 3}, {"h1", 7, 4}, {"h4", 7, 5}, {"web1.example.com", 3, 2}, {"web1.example.com", 7, 7}} {
		if got := Of(tc.name, tc.n); got != tc.want {
			t.Errorf("Of(%q, %d) = %d, want %d", tc.name, tc.n, got, tc.want)
		}
	}
}

func fleet(from, to int) []string {
	var names []string
	for i := from; i < to; i++ {
		names = append(names, fmt.Sprintf("host-%03d.example.com", i))
	}
	return names
}
