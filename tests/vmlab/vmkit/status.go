package vmkit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteStatus prints the lab's VMs, whether each qemu runs and its sshd
// answers, the licensing stand-in and how to log in.
func (l *Lab) WriteStatus(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tADDRESS\tPROFILE\tEGRESS\tQEMU\tSSHD")
	for _, v := range l.st.VMs {
		qemu, sshd := fmt.Sprintf("pid %d", v.Pid), "answers on "+fmt.Sprint(v.Port)
		if !isQemuOf(v.Pid, l.Dir) {
			qemu, sshd = "not running", "-"
		} else if err := l.Reach(v.Addr, "tcp", v.Port, 2*time.Second); err != nil {
			sshd = "DOWN: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", v.Name, v.Addr, v.Profile, v.Egress, qemu, sshd)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	license := "answers"
	if err := l.Reach(l.License, "tcp", 443, 2*time.Second); err != nil {
		license = "DOWN: " + err.Error()
	}
	_, err := fmt.Fprintf(w, "licensing stand-in: %s:443 (%s, %s)\ninventory: %s\nlog in:   ssh %s -i %s root@%s\nops sudo password: %s\nconsoles: %s/NAME.console\n",
		l.License, LicenseDomain, license, l.Inventory, strings.Join(l.sshOptions(), " "), l.Key, l.VMs[0].Addr, l.OpsPassword, l.Dir)
	return err
}

// answers checks that every VM's qemu runs and its sshd and the stand-in
// answer.
func (l *Lab) answers() error {
	for _, v := range l.st.VMs {
		if !isQemuOf(v.Pid, l.Dir) {
			return fmt.Errorf("%s: qemu is not running", v.Name)
		}
		if err := l.Reach(v.Addr, "tcp", v.Port, 2*time.Second); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	return l.Reach(l.License, "tcp", 443, 2*time.Second)
}
