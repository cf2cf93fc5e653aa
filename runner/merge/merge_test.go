package merge

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
	"remedy/runner/shard"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// host is one host's report: ok, changed, failed or unreachable.
func host(name, outcome string) recap.HostReport {
	h := recap.HostReport{Host: name, Duration: time.Second}
	status := map[string]remote.Status{"ok": remote.StatusOK, "changed": remote.StatusChanged,
		"failed": remote.StatusFailed, "unreachable": remote.StatusUnreachable}[outcome]
	h.Results = []remote.Result{{Host: name, Kind: remote.KindTask, Name: "t", Status: status, Msg: outcome}}
	switch outcome {
	case "ok":
		h.Stats.OK = 1
	case "changed":
		h.Stats.OK, h.Stats.Changed = 1, 1
	case "failed":
		h.Stats.Failed = 1
	case "unreachable":
		h.Stats.Unreachable, h.Unreachable = 1, true
	}
	return h
}

// shardOf is the part of whole that --shard k/n would have run.
func shardOf(whole recap.Recap, k, n int, start time.Time, took time.Duration) Part {
	r := whole
	r.Hosts = nil
	r.Play.Hosts = nil
	for _, h := range whole.Hosts {
		if shard.Of(h.Host, n) == k {
			r.Hosts = append(r.Hosts, h)
			r.Play.Hosts = append(r.Play.Hosts, h.Host)
		}
	}
	r.Play.Started, r.Duration = start, took
	r.Play.Provenance.Shard = fmt.Sprintf("%d/%d", k, n)
	r.Play.Provenance.CommandLine = []string{"audit", "aspera-server", "-i", "hosts.ini", "--shard", r.Play.Provenance.Shard, "-o", "json"}
	return Part{File: fmt.Sprintf("shard-%d.json", k), Recap: r}
}

func fleet() recap.Recap {
	r := recap.Recap{Play: recap.Play{Name: "Aspera HSTS network", Path: "playbooks/aspera-server.lua", Check: true, Diff: true, Audit: true,
		Started: t0, Provenance: recap.Provenance{PlaybookSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}
	outcomes := []string{"ok", "changed", "failed", "unreachable", "ok", "ok", "changed", "ok", "ok"}
	for i, o := range outcomes {
		r.Hosts = append(r.Hosts, host(fmt.Sprintf("h%d", i+1), o))
		r.Play.Hosts = append(r.Play.Hosts, fmt.Sprintf("h%d", i+1))
	}
	return r
}

// Three shards merge into the run they split: the same hosts, results
// and counts, from the first start to the last end.
func TestMergeShards(t *testing.T) {
	whole := fleet()
	parts := []Part{
		shardOf(whole, 2, 3, t0.Add(time.Second), 5*time.Second),
		shardOf(whole, 1, 3, t0, 3*time.Second),
		shardOf(whole, 3, 3, t0.Add(2*time.Second), 2*time.Second),
	}
	got, missing, err := Recaps(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 {
		t.Errorf("missing = %v", missing)
	}
	if !reflect.DeepEqual(got.Hosts, whole.Hosts) {
		t.Errorf("hosts differ:\n got %+v\nwant %+v", got.Hosts, whole.Hosts)
	}
	if !slices.Equal(got.Play.Hosts, whole.Play.Hosts) {
		t.Errorf("play hosts = %v, want %v", got.Play.Hosts, whole.Play.Hosts)
	}
	if !got.Play.Started.Equal(t0) || got.Duration != 6*time.Second {
		t.Errorf("started %v, took %v; want %v and 6s", got.Play.Started, got.Duration, t0)
	}
	if got.Play.Provenance.Shard != "" || strings.Join(got.Play.Provenance.CommandLine, " ") != "audit aspera-server -i hosts.ini -o json" {
		t.Errorf("provenance = %+v: want no shard", got.Play.Provenance)
	}
	if got.Play.Name != whole.Play.Name || !got.Play.Audit {
		t.Errorf("play = %+v", got.Play)
	}
}

// A merge of some shards works, and says which are missing.
func TestMergeMissingShard(t *testing.T) {
	whole := fleet()
	_, missing, err := Recaps([]Part{shardOf(whole, 1, 3, t0, time.Second), shardOf(whole, 3, 3, t0, time.Second)})
	if err != nil || !slices.Equal(missing, []string{"2/3"}) {
		t.Errorf("missing = %v, %v; want [2/3]", missing, err)
	}
}

func TestMergeRefuses(t *testing.T) {
	whole := fleet()
	a := shardOf(whole, 1, 3, t0, time.Second)
	b := shardOf(whole, 2, 3, t0, time.Second)
	other := func(change func(*Part)) Part {
		p := b
		p.Recap.Play.Hosts = slices.Clone(b.Recap.Play.Hosts)
		p.Recap.Hosts = slices.Clone(b.Recap.Hosts)
		change(&p)
		return p
	}
	for _, tc := range []struct {
		name  string
		parts []Part
		want  string
	}{
		{"nothing", nil, "no results to merge"},
		{"a host in two files", []Part{a, other(func(p *Part) {
			p.Recap.Play.Provenance.Shard = ""
			p.Recap.Hosts = append(p.Recap.Hosts, a.Recap.Hosts[0])
		})}, "shard-2.json: host " + a.Recap.Hosts[0].Host + " is also in shard-1.json: the shards overlap"},
		{"a host not run in one file, run in another", []Part{a, other(func(p *Part) {
			p.Recap.NotRun = []string{a.Recap.Hosts[0].Host}
		})}, "shard-2.json: host " + a.Recap.Hosts[0].Host + " is also in shard-1.json"},
		{"the same file twice", []Part{a, a}, "shard-1.json: shard 1/3 again: shard-1.json is that shard too"},
		{"another playbook", []Part{a, other(func(p *Part) { p.Recap.Play.Name = "site policy" })},
			`shard-2.json: playbook "site policy" (playbooks/aspera-server.lua, sha256 9f86d081884c) is not shard-1.json's "Aspera HSTS network"`},
		{"another version of the playbook", []Part{a, other(func(p *Part) { p.Recap.Play.Provenance.PlaybookSHA256 = "00aa" })},
			`shard-2.json: playbook "Aspera HSTS network" (playbooks/aspera-server.lua, sha256 00aa) is not shard-1.json's`},
		{"a run and an audit", []Part{a, other(func(p *Part) { p.Recap.Play.Audit, p.Recap.Play.Check = false, false })},
			"shard-2.json: a run (diff true), but shard-1.json is an audit"},
		{"shards of another count", []Part{a, other(func(p *Part) { p.Recap.Play.Provenance.Shard = "2/4" })},
			"shard-2.json: shard 2/4 is not one of the 3 shards of shard-1.json"},
	} {
		_, _, err := Recaps(tc.parts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestWithoutShard(t *testing.T) {
	for in, want := range map[string]string{
		"audit x --shard 1/3 -o json": "audit x -o json",
		"audit x --shard=2/3":         "audit x",
		"audit x -l web":              "audit x -l web",
	} {
		if got := strings.Join(withoutShard(strings.Fields(in)), " "); got != want {
			t.Errorf("withoutShard(%s) = %s, want %s", in, got, want)
		}
	}
}
