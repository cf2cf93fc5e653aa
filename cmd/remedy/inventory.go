package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"remedy/inventory"
	"remedy/runner/output"
)

func init() {
	rootCmd.AddCommand(newInventoryCmd())
}

// inventoryFlags are the options of `remedy inventory`.
type inventoryFlags struct {
	sources []string
	list    bool
	graph   bool
	host    string
	limit   string
	vars    bool
}

// newInventoryCmd builds `remedy inventory`, which shows an inventory as
// ansible-inventory does.
func newInventoryCmd() *cobra.Command {
	var f inventoryFlags
	cmd := &cobra.Command{
		Use:   "inventory -i INVENTORY (--list | --graph [GROUP] | --host NAME)",
		Short: "Show an inventory as ansible-inventory does: --list, --graph or --host",
		Long: `inventory reads the inventory remedy would use and prints it the way
ansible-inventory does: --list as JSON with every host's merged variables,
--graph as a tree of groups (from GROUP, default all), --host NAME as one
host's variables. Passwords are masked. -l restricts the hosts shown.
Exit codes: 0 ok, 5 bad command line or inventory.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := f.render(args)
			if err != nil {
				return badInput(err)
			}
			// Names and values come from inventory files, which need not
			// be the operator's own: shown as in the run's output. In
			// JSON, the escapes Visible writes for what it shows (\u009b)
			// are JSON's own.
			fmt.Fprintln(cmd.OutOrStdout(), output.Visible(out))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.sources, "inventory", "i", nil, "`INVENTORY` file, directory or host list h1,h2, (repeatable)")
	fl.BoolVar(&f.list, "list", false, "print every group and host as JSON")
	fl.BoolVar(&f.graph, "graph", false, "draw the group tree, from the group given as argument or all")
	fl.StringVar(&f.host, "host", "", "print the merged variables of host `NAME` as JSON")
	fl.StringVarP(&f.limit, "limit", "l", "", "show only the hosts this `PATTERN` selects")
	fl.BoolVar(&f.vars, "vars", false, "with --graph, show variables")
	return cmd
}

// render loads the inventory and produces the chosen view.
func (f *inventoryFlags) render(args []string) (string, error) {
	if n := countTrue(f.list, f.graph, f.host != ""); n != 1 {
		return "", errors.New("inventory: give exactly one of --list, --graph or --host")
	}
	if len(args) > 0 && !f.graph {
		return "", fmt.Errorf("inventory: unexpected argument %q (a group name goes with --graph)", args[0])
	}
	if len(f.sources) == 0 {
		return "", errors.New("inventory: no inventory given (-i)")
	}
	inv, err := inventory.Load(f.sources)
	if err != nil {
		return "", err
	}
	hosts, err := inv.Hosts("all")
	if err == nil && f.limit != "" {
		hosts, err = inv.Limit(hosts, f.limit)
	}
	if err != nil {
		return "", fmt.Errorf("inventory: %w", err)
	}
	switch {
	case f.list:
		return inv.ListJSON(hosts), nil
	case f.graph:
		group := "all"
		if len(args) > 0 {
			group = args[0]
		}
		return inv.Graph(group, hosts, f.vars)
	}
	return hostVars(inv, hosts, f.host)
}

func hostVars(inv *inventory.Inventory, within []*inventory.Host, name string) (string, error) {
	hosts, err := inv.Limit(within, name)
	if err != nil {
		return "", fmt.Errorf("inventory: --host: %w", err)
	}
	if len(hosts) != 1 {
		return "", fmt.Errorf("inventory: --host %q matches %d hosts, want one", name, len(hosts))
	}
	return hosts[0].HostJSON(), nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
