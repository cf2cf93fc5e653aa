// Package merge joins the recaps of runs that each took a share of one
// fleet (--shard K/N) into the recap of one run, for remedy report merge:
// the same hosts, results and counts one unsharded run would have given.
// It refuses what would not add up: another playbook or mode, or a host
// in two shards.
package merge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"remedy/runner/recap"
	"remedy/runner/shard"
)

// Part is one shard's recap and the file it was read from, which every
// error names.
type Part struct {
	File  string
	Recap recap.Recap
}

// Recaps merges the parts into one recap. The first part gives the play
// and the provenance, less its shard: the merged run is the whole
// selection, so its command line loses --shard. Hosts and hosts not run
// are sorted by name; the run starts with the earliest part and ends with
// the latest; it was interrupted if any part was.
//
// missing lists the shards of K/N that no part is, when the parts name
// their shards: the merge is then of part of the fleet.
func Recaps(parts []Part) (merged recap.Recap, missing []string, err error) {
	if len(parts) == 0 {
		return recap.Recap{}, nil, errors.New("no results to merge")
	}
	first := parts[0]
	if err := checkShards(parts); err != nil {
		return recap.Recap{}, nil, err
	}
	owner := map[string]string{} // host -> the file that has it
	var end time.Time
	merged.Play = first.Recap.Play
	merged.Play.Hosts = nil
	merged.Play.Provenance.Shard = ""
	merged.Play.Provenance.CommandLine = withoutShard(first.Recap.Play.Provenance.CommandLine)
	for _, p := range parts {
		if err := samePlay(first, p); err != nil {
			return recap.Recap{}, nil, err
		}
		r := p.Recap
		names := append(hostNames(r.Hosts), r.NotRun...)
		for _, name := range names {
			if other, ok := owner[name]; ok {
				return recap.Recap{}, nil, fmt.Errorf("%s: host %s is also in %s: the shards overlap", p.File, name, other)
			}
			owner[name] = p.File
		}
		merged.Play.Hosts = append(merged.Play.Hosts, names...)
		merged.Hosts = append(merged.Hosts, r.Hosts...)
		merged.NotRun = append(merged.NotRun, r.NotRun...)
		merged.Interrupted = merged.Interrupted || r.Interrupted
		if r.Play.Started.Before(merged.Play.Started) {
			merged.Play.Started = r.Play.Started
		}
		if f := r.Play.Started.Add(r.Duration); f.After(end) {
			end = f
		}
	}
	slices.Sort(merged.Play.Hosts)
	slices.SortFunc(merged.Hosts, func(a, b recap.HostReport) int { return strings.Compare(a.Host, b.Host) })
	slices.Sort(merged.NotRun)
	merged.Duration = end.Sub(merged.Play.Started)
	return merged, missingShards(parts), nil
}

// samePlay refuses a part that ran another playbook, or the same one in
// another mode: their results answer different questions.
func samePlay(first, p Part) error {
	a, b := first.Recap.Play, p.Recap.Play
	switch {
	case a.Name != b.Name || a.Path != b.Path || a.Provenance.PlaybookSHA256 != b.Provenance.PlaybookSHA256:
		return fmt.Errorf("%s: playbook %q (%s, sha256 %s) is not %s's %q (%s, sha256 %s)", p.File,
			b.Name, b.Path, short(b.Provenance.PlaybookSHA256), first.File, a.Name, a.Path, short(a.Provenance.PlaybookSHA256))
	case a.Audit != b.Audit || a.Check != b.Check || a.Diff != b.Diff:
		return fmt.Errorf("%s: %s, but %s is %s", p.File, mode(b), first.File, mode(a))
	}
	return nil
}

func mode(p recap.Play) string {
	switch {
	case p.Audit:
		return "an audit"
	case p.Check:
		return fmt.Sprintf("a run in check mode (diff %t)", p.Diff)
	}
	return fmt.Sprintf("a run (diff %t)", p.Diff)
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// checkShards refuses parts that name shards of different counts, or the
// same shard twice. Parts that name no shard (runs without --shard, or
// made by an older remedy) are checked by their hosts alone.
func checkShards(parts []Part) error {
	var n int
	var nFile string
	seen := map[int]string{}
	for _, p := range parts {
		spec := p.Recap.Play.Provenance.Shard
		if spec == "" {
			continue
		}
		s, err := shard.Parse(spec)
		if err != nil {
			return fmt.Errorf("%s: %w", p.File, err)
		}
		if n != 0 && s.N != n {
			return fmt.Errorf("%s: shard %s is not one of the %d shards of %s", p.File, s, n, nFile)
		}
		n, nFile = s.N, p.File
		if other, ok := seen[s.K]; ok {
			return fmt.Errorf("%s: shard %s again: %s is that shard too", p.File, s, other)
		}
		seen[s.K] = p.File
	}
	return nil
}

// missingShards are the K/N no part is, when the parts name their shards.
func missingShards(parts []Part) []string {
	n := 0
	have := map[int]bool{}
	for _, p := range parts {
		if s, err := shard.Parse(p.Recap.Play.Provenance.Shard); err == nil && s.N > 0 {
			n = s.N
			have[s.K] = true
		}
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if !have[k] {
			missing = append(missing, shard.Shard{K: k, N: n}.String())
		}
	}
	return missing
}

// withoutShard is a command line less its --shard: the command the merged
// run stands for.
func withoutShard(args []string) []string {
	out := []string{}
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--shard":
			i++ // and its value
		case strings.HasPrefix(args[i], "--shard="):
		default:
			out = append(out, args[i])
		}
	}
	return out
}

func hostNames(hosts []recap.HostReport) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Host
	}
	return names
}
