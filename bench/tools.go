package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// bench is one lab and the tools timed on it.
type bench struct {
	lab, remedy, work string
	reads             string // remedy's reads per host (captureReads), for floorReadsTool
	hosts             int
	ansible           bool // time Ansible too: it takes minutes at 100 hosts
	warmup            bool // a round first that is not counted
}

// tool is one way of doing the audit. argv gets a fresh directory of its
// own for each run.
type tool struct {
	name string
	argv func(dir string) []string
	env  func(dir string) []string
	ok   []int // exit codes that mean every host was audited
}

// The names, in the order the table lists them.
const (
	remedyTool        = "remedy"
	remedyDefaultTool = "remedy, default forks"
	ansibleTool       = "ansible"
	floorTool         = "floor"
	floorReadsTool    = "floor, remedy's reads"
)

func (b *bench) tools() []tool {
	forks := strconv.Itoa(b.hosts)
	inv := filepath.Join(b.lab, "inventory.ini")
	// HOME is the run's own directory, so no ~/.ssh, ~/.ansible or
	// ~/.ansible.cfg of the person running the benchmark plays a part.
	home := func(dir string) []string { return []string{"HOME=" + dir} }
	tools := []tool{
		{
			name: remedyTool,
			// alee=true adds the licensing domain's DNS and TCP check,
			// which the Ansible playbook and the floor make too.
			argv: func(string) []string { return remedyAudit(b.remedy, b.lab, b.hosts) },
			env:  home,
			ok:   []int{0, 3}, // 3: drift found, which a fresh lab has; 4 (unreachable hosts) fails
		},
		{
			name: remedyDefaultTool,
			argv: func(string) []string { return remedyAudit(b.remedy, b.lab, 0) },
			env:  home,
			ok:   []int{0, 3},
		},
		{
			name: ansibleTool,
			argv: func(string) []string {
				return []string{"ansible-playbook", "-i", inv, "--check", "-f", forks, "bench/aspera-audit.yml"}
			},
			// A control path directory per run: every run starts cold,
			// as remedy's and the floor's do.
			env: func(dir string) []string {
				return append(home(dir), "ANSIBLE_CONFIG=bench/ansible.cfg",
					"ANSIBLE_SSH_CONTROL_PATH_DIR="+filepath.Join(dir, "cp"))
			},
			ok: []int{0},
		},
		{
			name: floorTool,
			argv: func(dir string) []string { return []string{"bench/floor.sh", b.lab, dir} },
			env:  home,
			ok:   []int{0},
		},
		{
			// The same OpenSSH floor running, on each host, what remedy's
			// audit runs there: what the audit costs the hosts, without
			// remedy's controller.
			name: floorReadsTool,
			argv: func(dir string) []string { return []string{"bench/floor.sh", b.lab, dir, b.reads} },
			env:  home,
			ok:   []int{0},
		},
	}
	if !b.ansible {
		tools = slices.DeleteFunc(tools, func(t tool) bool { return t.name == ansibleTool })
	}
	return tools
}

// rounds runs every tool once per round, one warm-up round first (page
// cache, Python's byte code), rotating the order each round so no tool
// always runs right after the same other one. It returns each tool's
// median.
func (b *bench) rounds(runs int) (map[string]stats, error) {
	tools := b.tools()
	samples := map[string][]sample{}
	first := 0
	if !b.warmup {
		first = 1
	}
	for round := first; round <= runs; round++ {
		for i := range tools {
			t := tools[(round+i)%len(tools)]
			s, err := b.once(t, round)
			if err != nil {
				return nil, err
			}
			if round > 0 {
				samples[t.name] = append(samples[t.name], s)
			}
			fmt.Fprintf(os.Stderr, "bench: %d hosts, round %d/%d, %-7s %6.2fs wall %6.2fs cpu\n",
				b.hosts, round, runs, t.name, s.Wall.Seconds(), s.CPU.Seconds())
		}
	}
	meds := map[string]stats{}
	for name, ss := range samples {
		meds[name] = medians(ss)
	}
	return meds, nil
}

func (b *bench) once(t tool, round int) (sample, error) {
	dir := filepath.Join(b.work, fmt.Sprintf("%d-hosts", b.hosts), fmt.Sprintf("%s-%d", t.name, round))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sample{}, err
	}
	return measure(t.argv(dir), t.env(dir), filepath.Join(dir, "output.log"), t.ok)
}

// stats are the medians of a tool's runs, and the runs' wall times.
type stats struct {
	Wall, CPU, Machine time.Duration
	MaxRSS, TreeRSS    int64
	Walls              []time.Duration
}

func medians(ss []sample) stats {
	var st stats
	pick := func(f func(sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	st.Wall = time.Duration(pick(func(s sample) int64 { return int64(s.Wall) }))
	st.CPU = time.Duration(pick(func(s sample) int64 { return int64(s.CPU) }))
	st.Machine = time.Duration(pick(func(s sample) int64 { return int64(s.Machine) }))
	st.MaxRSS = pick(func(s sample) int64 { return s.MaxRSS })
	st.TreeRSS = pick(func(s sample) int64 { return s.TreeRSS })
	for _, s := range ss {
		st.Walls = append(st.Walls, s.Wall)
	}
	return st
}

// median of an even count is the mean of the middle two.
func median(v []int64) int64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
