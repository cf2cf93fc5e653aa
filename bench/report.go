package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

const mib = 1 << 20

// The targets of issue 9, at the smallest host count measured.
const (
	targetVsAnsible = 15.0    // remedy at least this many times faster
	targetVsFloor   = 1.25    // remedy's wall time at most this times the floor's
	targetPerHost   = 2 * mib // controller peak memory per host
)

var order = []string{remedyTool, ansibleTool, floorTool}

// writeTable prints one lab's medians as Markdown, with the ratios the
// targets are about.
func writeTable(w io.Writer, hosts, runs int, meds map[string]stats, load string) {
	fmt.Fprintf(w, "\n### %d hosts (median of %d runs; load average before and after: %s)\n\n", hosts, runs, load)
	fmt.Fprintln(w, "| tool | wall | CPU user+sys | peak RSS, largest process | peak RSS, whole tree | wall of each run |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, name := range order {
		st := meds[name]
		walls := make([]string, len(st.Walls))
		for i, d := range st.Walls {
			walls[i] = fmt.Sprintf("%.2f", d.Seconds())
		}
		fmt.Fprintf(w, "| %s | %.2f s | %.2f s | %.1f MiB | %.1f MiB | %s |\n", name, st.Wall.Seconds(), st.CPU.Seconds(),
			float64(st.MaxRSS)/mib, float64(st.TreeRSS)/mib, strings.Join(walls, " "))
	}
	r, a, f := meds[remedyTool], meds[ansibleTool], meds[floorTool]
	fmt.Fprintf(w, "\n- remedy vs Ansible: %.1fx faster wall (target ≥%gx: %s), %.1fx less CPU\n",
		ratio(a.Wall, r.Wall), targetVsAnsible, met(ratio(a.Wall, r.Wall) >= targetVsAnsible), ratio(a.CPU, r.CPU))
	fmt.Fprintf(w, "- remedy / floor: %.2fx the wall time (target ≤%gx: %s), %.2fx the CPU\n",
		ratio(r.Wall, f.Wall), targetVsFloor, met(ratio(r.Wall, f.Wall) <= targetVsFloor), ratio(r.CPU, f.CPU))
	perHost := float64(r.MaxRSS) / float64(hosts)
	fmt.Fprintf(w, "- remedy's peak memory per host: %.2f MiB (target < 2 MiB: %s)\n", perHost/mib, met(perHost < targetPerHost))
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// record is one tool's medians on one lab, a line of the results file.
type record struct {
	Hosts      int     `json:"hosts"`
	Tool       string  `json:"tool"`
	WallS      float64 `json:"wall_s"`
	CPUS       float64 `json:"cpu_s"`
	MaxRSSMiB  float64 `json:"max_rss_mib"`
	TreeRSSMiB float64 `json:"tree_rss_mib"`
}

func appendResults(path string, hosts int, meds map[string]stats) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, name := range order {
		st := meds[name]
		rec := record{Hosts: hosts, Tool: name, WallS: st.Wall.Seconds(), CPUS: st.CPU.Seconds(),
			MaxRSSMiB: float64(st.MaxRSS) / mib, TreeRSSMiB: float64(st.TreeRSS) / mib}
		if err := enc.Encode(rec); err != nil {
			f.Close()
			return fmt.Errorf("results: %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("results: %s: %w", path, err)
	}
	return nil
}

// scaleCmd compares each tool's smallest and largest lab of a results
// file: wall time must grow no faster than the host count.
func scaleCmd(path string, w io.Writer) error {
	recs, err := readResults(path)
	if err != nil {
		return err
	}
	sizes := map[int]bool{}
	for _, r := range recs {
		sizes[r.Hosts] = true
	}
	if len(sizes) < 2 {
		return nil // one host count: nothing to compare
	}
	fmt.Fprintln(w, "\n### Scaling")
	fmt.Fprintln(w, "\n| tool | hosts | wall | wall growth | host growth | at most linear | peak RSS per host |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|")
	for _, name := range order {
		rs := slices.DeleteFunc(slices.Clone(recs), func(r record) bool { return r.Tool != name })
		if len(rs) < 2 {
			continue
		}
		slices.SortFunc(rs, func(a, b record) int { return a.Hosts - b.Hosts })
		lo, hi := rs[0], rs[len(rs)-1]
		wallGrowth, hostGrowth := hi.WallS/lo.WallS, float64(hi.Hosts)/float64(lo.Hosts)
		fmt.Fprintf(w, "| %s | %d → %d | %.2f s → %.2f s | %.2fx | %.0fx | %s | %.2f → %.2f MiB |\n", name, lo.Hosts, hi.Hosts,
			lo.WallS, hi.WallS, wallGrowth, hostGrowth, yesNo(wallGrowth <= hostGrowth),
			lo.MaxRSSMiB/float64(lo.Hosts), hi.MaxRSSMiB/float64(hi.Hosts))
	}
	return nil
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func readResults(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("results: %s:%d: %w", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return recs, nil
}
