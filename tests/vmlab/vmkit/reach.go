package vmkit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"remedy/lua/shell"
	"remedy/tests/lab/labkit"
)

// Reach sends real packets from the controller (the machine's namespace)
// to addr: a TCP connect, or a UDP datagram that must come back (Listen's
// UDP echoes), as labkit's Reach does.
func (l *Lab) Reach(addr, proto string, port int, timeout time.Duration) error {
	return labkit.Reach(addr, proto, port, timeout)
}

// Port is a protocol and a port number: "udp", 33001.
type Port struct {
	Proto string
	Num   int
}

// Listen starts a listener on port inside the VM, as a transient systemd
// unit: TCP accepts (and echoes), UDP echoes each datagram back. It
// returns once the VM has the socket bound; stop ends it. A reboot ends it
// too.
func (l *Lab) Listen(ctx context.Context, name, proto string, port int) (stop func() error, err error) {
	return l.ListenAll(ctx, name, Port{proto, port})
}

// ListenAll is Listen for several ports over one SSH connection: under
// emulation each new connection costs seconds.
func (l *Lab) ListenAll(ctx context.Context, name string, ports ...Port) (stop func() error, err error) {
	var start, units []string
	for _, p := range ports {
		var addr, ssFlag string
		switch p.Proto {
		case "tcp":
			addr, ssFlag = fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", p.Num), "-Hltn"
		case "udp":
			addr, ssFlag = fmt.Sprintf("UDP-RECVFROM:%d,fork,reuseaddr", p.Num), "-Hlun"
		default:
			return nil, fmt.Errorf("%s: listen: unknown protocol %q (tcp or udp)", name, p.Proto)
		}
		unit := fmt.Sprintf("remedy-vmlab-listen-%s-%d", p.Proto, p.Num)
		units = append(units, unit)
		start = append(start, fmt.Sprintf(`systemd-run --quiet --collect --unit=%s socat %s PIPE
for i in $(seq 100); do
	[ -n "$(ss %s "sport = :%d")" ] && break
	[ $i = 100 ] && { echo "%s/%d: not listening after 10s" >&2; systemctl stop %s; exit 1; }
	sleep 0.1
done`, unit, shell.Quote(addr), ssFlag, p.Num, p.Proto, p.Num, strings.Join(units, " ")))
	}
	if _, err := l.Exec(ctx, name, "sh", "-c", strings.Join(start, "\n")); err != nil {
		return nil, fmt.Errorf("%s: listen on %v: %w", name, ports, err)
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := l.Exec(ctx, name, append([]string{"systemctl", "stop"}, units...)...)
		return err
	}, nil
}

// RepointLicense changes what the licensing domain resolves to on one VM,
// as a DNS change would: the stand-in answers TCP/443 at the next of its
// reserved addresses too (the other VMs keep the first), and the VM's
// hosts file names that one. It returns the new address.
func (l *Lab) RepointLicense(ctx context.Context, name string) (string, error) {
	addr, err := labkit.Slot(l.st.Slot).AddLicenseAddr(ctx, 1)
	if err != nil {
		return "", err
	}
	sed := fmt.Sprintf(`s/^[^#[:space:]]+([[:space:]]+%s)$/%s\1/`, strings.ReplaceAll(LicenseDomain, ".", `\.`), addr)
	if _, err := l.Exec(ctx, name, "sed", "-i", "-E", sed, "/etc/hosts"); err != nil {
		return "", fmt.Errorf("%s: repoint %s: %w", name, LicenseDomain, err)
	}
	return addr.String(), nil
}
