package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"remedy/inventory"
	"remedy/runner/output"
	"remedy/runner/recap"
)

// inventoryNotes is where the inventory changes are printed: after the
// recap in text output, on stderr when stdout holds a JSON or JUnit
// document.
func inventoryNotes(stdout io.Writer, f *runFlags) io.Writer {
	if f.output == "text" {
		return stdout
	}
	return os.Stderr
}

// reportMovedPorts prints, for each host whose SSH port moved, the
// inventory change it needs, and with update writes it into every
// inventory file that names the host. A host the inventory files do not
// name (a -i 'h1,h2,' list) cannot be updated, which is an error.
func reportMovedPorts(w io.Writer, r recap.Recap, inv map[string]*inventory.Host, update bool) error {
	var errs []error
	for _, rep := range r.Hosts {
		if rep.MovedPort == 0 {
			continue
		}
		change := fmt.Sprintf("ansible_port=%d", rep.MovedPort)
		if !update {
			fmt.Fprintf(w, "%s: inventory: %s (--update-inventory writes it)\n", output.Visible(rep.Host), change)
			continue
		}
		files, err := setPort(inv[rep.Host], rep.MovedPort)
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(w, "%s: inventory: %s NOT written\n", output.Visible(rep.Host), change)
			continue
		}
		fmt.Fprintf(w, "%s: inventory: %s written to %s\n", output.Visible(rep.Host), change, output.Visible(strings.Join(files, ", ")))
	}
	return errors.Join(errs...)
}

// setPort rewrites ansible_port in each inventory file naming h.
func setPort(h *inventory.Host, port int) ([]string, error) {
	files := h.Files()
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: update inventory: no inventory file names the host; set ansible_port=%d yourself", h.Name, port)
	}
	for _, file := range files {
		if err := inventory.SetPort(file, h.Name, port); err != nil {
			return nil, fmt.Errorf("update inventory: %w", err)
		}
	}
	return files, nil
}
