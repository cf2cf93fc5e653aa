package labkit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteStatus prints the lab's hosts, whether each sshd answers, the
// licensing stand-in and how to log in.
func (l *Lab) WriteStatus(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tADDRESS\tPROFILE\tEGRESS\tHIDDEN\tSSHD")
	for _, h := range l.st.Hosts {
		sshd := "answers"
		if err := sshAnswers(h); err != nil {
			sshd = "DOWN: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Addr, h.Profile,
			yesNo(h.Egress), yesNo(h.Hidden), sshd)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	license := "answers"
	if err := Reach(l.License, "tcp", 443, 2*time.Second); err != nil {
		license = "DOWN: " + err.Error()
	}
	_, err := fmt.Fprintf(w, "licensing stand-in: %s:443 (%s, %s)\ninventory: %s\nlog in:   ssh %s -i %s root@%s true\nops sudo password: %s\n",
		l.License, LicenseDomain, license, l.Inventory,
		strings.Join(l.sshOptions(), " "), l.Key, l.Hosts[0].Addr, l.OpsPassword)
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
