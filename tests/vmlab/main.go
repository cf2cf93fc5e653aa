// Command vmlab builds remedy's VM images and brings a lab of booted
// Debian VMs up and down:
//
//	go run ./tests/vmlab build --profiles nftables,ssh-socket
//	go run ./tests/vmlab up --profiles nftables,ssh-socket --dir /tmp/remedy-vmlab
//	go run ./tests/vmlab status --dir /tmp/remedy-vmlab
//	go run ./tests/vmlab down --dir /tmp/remedy-vmlab
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"remedy/tests/vmlab/vmkit"
)

const usage = "usage: vmlab up|down|status|build [--dir DIR] [--profiles p1,p2,...] [--cache DIR]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmlab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	fs := flag.NewFlagSet("vmlab "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "/tmp/remedy-vmlab", "where the state, inventory, known_hosts, key and disks live")
	// build makes every image by default, egress-restricted ones too;
	// up boots one VM per profile.
	all := vmkit.Profiles
	if args[0] == "build" {
		all = vmkit.Images()
	}
	profiles := fs.String("profiles", strings.Join(all, ","), "one VM per profile")
	cache := fs.String("cache", vmkit.DefaultCache, "where images are built and kept")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w (%s)", err, usage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), usage)
	}
	o := vmkit.Options{Dir: *dir, Profiles: strings.Split(*profiles, ","), Cache: *cache, Log: out}
	switch args[0] {
	case "build":
		start := time.Now()
		if err := vmkit.Build(ctx, o); err != nil {
			return err
		}
		fmt.Fprintf(out, "images ready in %s\n", time.Since(start).Round(time.Second))
		return nil
	case "up":
		start := time.Now()
		l, err := vmkit.Up(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "VM lab up in %s: %d VMs\n", time.Since(start).Round(time.Second), len(l.VMs))
		return l.WriteStatus(out)
	case "down":
		return vmkit.Down(*dir)
	case "status":
		l, err := vmkit.Load(*dir)
		if err != nil {
			return err
		}
		return l.WriteStatus(out)
	}
	return fmt.Errorf("unknown command %q (%s)", args[0], usage)
}
