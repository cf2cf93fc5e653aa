package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fleetCmd times remedy's audit of fake fleets (fleet.go) of each size,
// every host holding its connection at once (-f the fleet's size), and
// shows the controller's CPU and peak memory per host: they must stay
// flat as the fleet grows.
//
//	bench fleet -remedy BIN -recording FILE [-sizes 500,1000,2500,5000] [-runs 1] [-doc FILE -commit C]
func fleetCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench fleet", flag.ContinueOnError)
	remedy := fs.String("remedy", "", "the remedy binary")
	recPath := fs.String("recording", "bench/testdata/audit-nftables.json", "what a lab host answered to the audit (bench record)")
	sizeList := fs.String("sizes", "500,1000,2500,5000", "fleet sizes, comma-separated")
	runs := fs.Int("runs", 1, "measured runs at each size; the table gives medians")
	work := fs.String("work", "", "where run logs go (default: a new temporary directory)")
	doc := fs.String("doc", "", "rewrite the fleet block of this Markdown file (docs/benchmarks.md) with the table")
	commit := fs.String("commit", "", "the commit measured, for the doc")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := parseSizes(*sizeList)
	if *remedy == "" || *runs < 1 || fs.NArg() > 0 || err != nil {
		return fmt.Errorf("usage: bench fleet -remedy BIN -recording FILE [-sizes N,N,...] [-runs N] [-doc FILE -commit C] (%v)", err)
	}
	rec, err := readRecording(*recPath)
	if err != nil {
		return err
	}
	if *work == "" {
		if *work, err = os.MkdirTemp("", "remedy-bench-fleet-"); err != nil {
			return err
		}
	}
	if err := becomeSubreaper(); err != nil {
		return err
	}
	loadBefore := loadAverage()
	results := map[int]stats{}
	for _, n := range sizes {
		st, err := fleetRuns(*remedy, rec, n, *runs, *work)
		if err != nil {
			return err
		}
		results[n] = st
	}
	table := fleetTable(sizes, results, *runs, rec, *commit, loadBefore+" / "+loadAverage())
	fmt.Fprint(out, table)
	if *doc != "" {
		return spliceDoc(*doc, "fleet", table)
	}
	return nil
}

func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("fleet size %q", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// fleetRuns starts a fleet of n hosts and audits it runs times.
func fleetRuns(remedy string, rec *recording, n, runs int, work string) (stats, error) {
	pub, priv, err := clientKey()
	if err != nil {
		return stats{}, err
	}
	f, err := newFleet(pub)
	if err != nil {
		return stats{}, err
	}
	f.replies = map[string]exchange{}
	for _, x := range rec.Commands {
		f.replies[x.Command] = x
	}
	if err := f.listen(n); err != nil {
		f.close()
		return stats{}, err
	}
	defer f.close()
	dir := filepath.Join(work, fmt.Sprintf("fleet-%d", n))
	if err := f.writeLab(dir, priv); err != nil {
		return stats{}, err
	}
	var ss []sample
	for run := 1; run <= runs; run++ {
		runDir := filepath.Join(dir, fmt.Sprintf("run-%d", run))
		if err := os.MkdirAll(runDir, 0o700); err != nil {
			return stats{}, err
		}
		s, err := measure(remedyAudit(remedy, dir, n), []string{"HOME=" + runDir}, filepath.Join(runDir, "output.log"), []int{0, 3})
		// What the recording lacks comes first: it fails every host.
		if unknown := f.unknownCommands(); len(unknown) > 0 {
			return stats{}, fmt.Errorf("fleet of %d: remedy sent %d commands the recording has no answer to (record again: bench record), the first %s",
				n, len(unknown), f.divergence(unknown[0]))
		}
		if err != nil {
			return stats{}, fmt.Errorf("fleet of %d: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "bench: fleet of %d, run %d/%d: %6.2fs wall %6.2fs cpu %6.1f MiB\n",
			n, run, runs, s.Wall.Seconds(), s.CPU.Seconds(), float64(s.MaxRSS)/mib)
		ss = append(ss, s)
	}
	return medians(ss), nil
}

// flatWithin is how much a per-host cost may grow from the smallest
// fleet to the largest and still count as flat.
const flatWithin = 1.25

// fleetTable is the fleet block of docs/benchmarks.md. Peak memory per
// host is shown twice: divided by the hosts, which the process's fixed
// part makes fall as the fleet grows, and added per host since the
// previous size, which is what a host costs.
func fleetTable(sizes []int, results map[int]stats, runs int, rec *recording, commit, load string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commit %s, %s; %s; median of %d run(s) per size; load average before and after: %s. The fake hosts answer as lab host %s did.\n\n",
		orUnknown(commit), time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine(), runs, load, rec.Host)
	fmt.Fprintln(&b, "| hosts | wall | controller CPU | CPU per host | controller peak RSS | peak RSS per host | added per host since the size before |")
	fmt.Fprintln(&b, "|---:|---:|---:|---:|---:|---:|---:|")
	cpuPerHost := func(n int) float64 { return results[n].CPU.Seconds() * 1000 / float64(n) }
	rssMiB := func(n int) float64 { return float64(results[n].MaxRSS) / mib }
	var added []float64
	for i, n := range sizes {
		step := "–"
		if i > 0 {
			prev := sizes[i-1]
			a := (rssMiB(n) - rssMiB(prev)) / float64(n-prev)
			added = append(added, a)
			step = fmt.Sprintf("%.3f MiB", a)
		}
		fmt.Fprintf(&b, "| %d | %.2f s | %.2f s | %.2f ms | %.1f MiB | %.3f MiB | %s |\n",
			n, results[n].Wall.Seconds(), results[n].CPU.Seconds(), cpuPerHost(n), rssMiB(n), rssMiB(n)/float64(n), step)
	}
	if len(sizes) > 1 {
		lo, hi := sizes[0], sizes[len(sizes)-1]
		cpuGrowth := cpuPerHost(hi) / cpuPerHost(lo)
		fmt.Fprintf(&b, "\nFrom %d to %d hosts: CPU per host %.2fx", lo, hi, cpuGrowth)
		flat := cpuGrowth <= flatWithin
		if len(added) > 1 {
			// The last step against the whole range: a first step of a few
			// MiB is mostly where the garbage collector's heap target
			// happened to be.
			whole := (rssMiB(hi) - rssMiB(lo)) / float64(hi-lo)
			memGrowth := added[len(added)-1] / whole
			fmt.Fprintf(&b, ", memory added per host in the last step %.2fx that over the whole range (%.3f MiB)", memGrowth, whole)
			flat = flat && memGrowth <= flatWithin
		}
		fmt.Fprintf(&b, "; flat (within %gx): %s.\n", flatWithin, yesNo(flat))
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
