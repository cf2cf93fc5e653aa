// Command bench times the same read-only Aspera audit on one lab: remedy,
// ansible-playbook and two OpenSSH floors (one connection per host running
// every read at once: the audit's probes as Ansible makes them, and the
// commands remedy's audit runs), and remedy alone on fake fleets of
// thousands of in-process SSH servers. `make bench` runs it; see
// docs/benchmarks.md.
//
//	bench measure -lab DIR -remedy BIN [-runs 3] [-work DIR] [-results FILE] [-ansible=false] [-doc FILE -commit C]
//	bench scale [-doc FILE] RESULTS
//	bench record -lab DIR -host h1 -remedy BIN -out bench/testdata/audit-nftables.json
//	bench fleet -remedy BIN [-sizes 500,1000,2500,5000] [-doc FILE -commit C]
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

const usage = "usage: bench measure -lab DIR -remedy BIN [-runs N] [-work DIR] [-results FILE] [-ansible=false] [-warmup=false] [-doc FILE -commit C]" +
	" | bench scale [-doc FILE] RESULTS | bench record -lab DIR -host NAME -remedy BIN -out FILE" +
	" | bench fleet -remedy BIN [-recording FILE] [-sizes N,N,...] [-runs N] [-doc FILE -commit C] | bench breakdown < REMEDY-VV-OUTPUT"

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
		fs := flag.NewFlagSet("bench scale", flag.ContinueOnError)
		doc := fs.String("doc", "", "rewrite the scaling block of this Markdown file")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return fmt.Errorf("%s", usage)
		}
		return scaleCmd(fs.Arg(0), *doc, out)
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
	ansible := fs.Bool("ansible", true, "time ansible-playbook too")
	warmup := fs.Bool("warmup", true, "run every tool once first, uncounted")
	doc := fs.String("doc", "", "rewrite the hosts-N block of this Markdown file (docs/benchmarks.md) with the table")
	commit := fs.String("commit", "", "the commit measured, for the doc")
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
	b := &bench{lab: *lab, remedy: *remedy, work: *work, hosts: hosts, ansible: *ansible, warmup: *warmup,
		reads: filepath.Join(*work, fmt.Sprintf("%d-hosts", hosts), "remedy-reads")}
	if err := captureReads(*remedy, *lab, b.reads, hosts); err != nil {
		return err
	}
	loadBefore := loadAverage()
	meds, err := b.rounds(*runs)
	if err != nil {
		return err
	}
	table := hostsTable(hosts, *runs, meds, *commit, loadBefore+" / "+loadAverage())
	fmt.Fprintf(out, "\n### %d hosts\n\n%s", hosts, table)
	if *results != "" {
		if err := appendResults(*results, hosts, meds); err != nil {
			return err
		}
	}
	if *doc != "" {
		return spliceDoc(*doc, fmt.Sprintf("hosts-%d", hosts), table)
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
