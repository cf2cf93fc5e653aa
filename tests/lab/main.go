// Command lab brings remedy's lab of throwaway SSH hosts up and down:
//
//	go run ./tests/lab up --hosts 6 --profiles nftables,ufw --dir /tmp/remedy-lab
//	go run ./tests/lab status --dir /tmp/remedy-lab
//	go run ./tests/lab down --dir /tmp/remedy-lab
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"remedy/tests/lab/labkit"
)

const usage = "usage: lab up|down|status [--dir DIR] [--hosts N] [--profiles p1,p2,...] [--egress-restricted] [--hidden N]"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", oneLine(err))
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	fs := flag.NewFlagSet("lab "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "/tmp/remedy-lab", "where the inventory, known_hosts, key and state live")
	hosts := fs.Int("hosts", 6, "number of hosts")
	profiles := fs.String("profiles", strings.Join(labkit.Profiles, ","), "profiles, assigned round-robin")
	egress := fs.Bool("egress-restricted", false, "make every host egress-restricted")
	hidden := fs.Int("hidden", 0, "hosts reachable only through the first host")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w (%s)", err, usage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), usage)
	}
	switch args[0] {
	case "up":
		return up(out, labkit.Options{
			Dir: *dir, Hosts: *hosts, Profiles: strings.Split(*profiles, ","),
			EgressRestricted: *egress, Hidden: *hidden,
		})
	case "down":
		return labkit.Down(*dir)
	case "status":
		l, err := labkit.Load(*dir)
		if err != nil {
			return err
		}
		return l.WriteStatus(out)
	}
	return fmt.Errorf("unknown command %q (%s)", args[0], usage)
}

func up(out io.Writer, o labkit.Options) error {
	// 500 hosts of every profile take minutes on two busy cores.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+time.Duration(o.Hosts+o.Hidden)*time.Second)
	defer cancel()
	start := time.Now()
	l, err := labkit.Up(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "lab up in %s: %d hosts\n", time.Since(start).Round(time.Millisecond), len(l.Hosts))
	return l.WriteStatus(out)
}

// oneLine keeps a failure to the one line the issue asks for.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
