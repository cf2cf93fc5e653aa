// Command bench times the same read-only Aspera audit three ways on one
// lab: remedy, ansible-playbook and the OpenSSH floor (one connection per
// host running every probe at once). `make bench` runs it; see
// docs/benchmarks.md.
//
//	bench measure -lab DIR -remedy BIN [-runs 3] [-work DIR] [-results FILE]
//	bench scale FILE
//	remedy audit ... -vv | bench breakdown
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = "usage: bench measure -lab DIR -remedy BIN [-runs N] [-work DIR] [-results FILE] | bench scale FILE | bench breakdown < REMEDY-VV-OUTPUT"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	switch args[0] {
	case "measure":
		return measureCmd(args[1:], out)
	case "scale":
		if len(args) != 2 {
			return fmt.Errorf("%s", usage)
		}
		return scaleCmd(args[1], out)
	case "breakdown":
		return breakdownCmd(os.Stdin, out)
	case "record":
		return recordCmd(args[1:], out)
	case "fleet":
		return fleetCmd(args[1:], out)
	}
	return fmt.Errorf("unknown command %q (%s)", args[0], usage)
}

func measureCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench measure", flag.ContinueOnError)
	lab := fs.String("lab", "", "lab directory: inventory.ini, known_hosts, id_ed25519")
	remedy := fs.String("remedy", "", "the remedy binary")
	runs := fs.Int("runs", 3, "measured runs of each tool, after one warm-up round")
	work := fs.String("work", "", "where run logs go (default: a new temporary directory)")
	results := fs.String("results", "", "append each tool's medians to FILE as JSON lines, for bench scale")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lab == "" || *remedy == "" || *runs < 1 || fs.NArg() > 0 {
		return fmt.Errorf("%s", usage)
	}
	if *work == "" {
		dir, err := os.MkdirTemp("", "remedy-bench-")
		if err != nil {
			return err
		}
		*work = dir
	}
	hosts, err := labHosts(*lab)
	if err != nil {
		return err
	}
	if err := becomeSubreaper(); err != nil {
		return err
	}
	b := &bench{lab: *lab, remedy: *remedy, work: *work, hosts: hosts}
	loadBefore := loadAverage()
	meds, err := b.rounds(*runs)
	if err != nil {
		return err
	}
	writeTable(out, hosts, *runs, meds, loadBefore+" / "+loadAverage())
	if *results != "" {
		return appendResults(*results, hosts, meds)
	}
	return nil
}

// loadAverage is the one-minute load: on a shared machine the numbers
// mean little without it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

// labHosts counts the hosts of the lab's inventory, as floor.sh finds them.
func labHosts(lab string) (int, error) {
	inv, err := os.ReadFile(filepath.Join(lab, "inventory.ini"))
	if err != nil {
		return 0, fmt.Errorf("lab: %w", err)
	}
	n := strings.Count(string(inv), " ansible_host=")
	if n == 0 {
		return 0, fmt.Errorf("lab: %s/inventory.ini lists no hosts", lab)
	}
	return n, nil
}
