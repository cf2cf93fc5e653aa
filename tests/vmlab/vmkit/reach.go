package vmkit

import (
	"context"
	"fmt"
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

// Listen starts a listener on port inside the VM, as a transient systemd
// unit: TCP accepts (and echoes), UDP echoes each datagram back. It
// returns once the VM has the socket bound; stop ends it. A reboot ends it
// too.
func (l *Lab) Listen(ctx context.Context, name, proto string, port int) (stop func() error, err error) {
	var addr, ssFlag string
	switch proto {
	case "tcp":
		addr, ssFlag = fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr", port), "-Hltn"
	case "udp":
		addr, ssFlag = fmt.Sprintf("UDP-RECVFROM:%d,fork,reuseaddr", port), "-Hlun"
	default:
		return nil, fmt.Errorf("%s: listen: unknown protocol %q (tcp or udp)", name, proto)
	}
	unit := fmt.Sprintf("remedy-vmlab-listen-%s-%d", proto, port)
	script := fmt.Sprintf(`systemd-run --quiet --collect --unit=%s socat %s PIPE
for i in $(seq 100); do
	[ -n "$(ss %s "sport = :%d")" ] && exit 0
	sleep 0.1
done
echo "not listening after 10s" >&2
systemctl stop %s
exit 1`, unit, shell.Quote(addr), ssFlag, port, unit)
	if _, err := l.Exec(ctx, name, "sh", "-c", script); err != nil {
		return nil, fmt.Errorf("%s: listen on %s/%d: %w", name, proto, port, err)
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := l.Exec(ctx, name, "systemctl", "stop", unit)
		return err
	}, nil
}
