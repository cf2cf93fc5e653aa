package labkit

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Each host has a PID namespace of its own: over SSH and through Exec it
// sees its own processes only, as a real host does (so `ss -p`, which walks
// /proc, costs what it costs on one host, not on the whole lab), sshd's
// pid file and `ss -p` agree on sshd's pid, a listener Listen starts is
// named by `ss -p`, an orphan is reaped, and sshd reloads by its pid file.
func TestHostsHaveTheirOwnProcesses(t *testing.T) {
	l := labForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, profile := range []string{"nftables", "firewalld"} {
		h := l.Hosts[slicesIndex(l.Hosts, profile)]
		t.Run(profile, func(t *testing.T) {
			c := sshClient(t, l, "root", h)
			ps, err := sshRun(t, c, "ps -eo pid=,ppid=,stat=,comm=")
			if err != nil {
				t.Fatalf("%s: ps: %v: %s", h.Name, err, ps)
			}
			procs := strings.Split(ps, "\n")
			if len(procs) > 20 {
				t.Errorf("%s sees %d processes, want only its own:\n%s", h.Name, len(procs), ps)
			}
			if !regexp.MustCompile(`(?m)^\s*1\s+0\s+\S+\s+sh$`).MatchString(ps) {
				t.Errorf("%s: PID 1 is not the lab's init:\n%s", h.Name, ps)
			}
			for _, other := range []string{"firewalld", "socat"} {
				if profile != other && strings.Contains(ps, " "+other) {
					t.Errorf("%s (%s) sees another host's %s:\n%s", h.Name, profile, other, ps)
				}
			}

			listeners, err := sshRun(t, c, "ss -Htlnp sport = :22")
			m := regexp.MustCompile(`"sshd",pid=(\d+)`).FindStringSubmatch(listeners)
			if err != nil || m == nil {
				t.Fatalf("%s: ss -Htlnp names no sshd on port 22: %q, %v", h.Name, listeners, err)
			}
			pidFile, err := l.Exec(ctx, h.Name, "cat", "/run/sshd.pid")
			if err != nil || strings.TrimSpace(string(pidFile)) != m[1] {
				t.Errorf("%s: Exec reads sshd's pid file as %q (%v); ss over SSH says %s", h.Name, pidFile, err, m[1])
			}

			stop, err := l.Listen(h.Name, "tcp", 8079)
			if err != nil {
				t.Fatal(err)
			}
			held, err := sshRun(t, c, "ss -Htlnp sport = :8079")
			stop()
			if err != nil || !strings.Contains(held, `"socat",pid=`) {
				t.Errorf("%s: ss -p does not name Listen's socat: %q, %v", h.Name, held, err)
			}

			// sh exits at once, leaving its sleep to PID 1; once the sleep
			// ends, PID 1 must have reaped it.
			zombies, err := sshRun(t, c, "(sh -c 'sleep 0.2 & exit 0' &); sleep 1; ps -eo stat=,pid=,comm= | grep '^Z' || true")
			if err != nil || zombies != "" {
				t.Errorf("%s: zombies left: %q, %v", h.Name, zombies, err)
			}

			if out, err := sshRun(t, c, `kill -HUP "$(cat /run/sshd.pid)"`); err != nil {
				t.Fatalf("%s: reload sshd by its pid file: %v: %s", h.Name, err, out)
			}
			// sshd re-executes itself: for a moment there is no listener.
			cfg, err := clientConfig(l, "root")
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				err := Login(h.Addr, 22, cfg)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no login after sshd's reload: %v", h.Name, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// Exec runs in the host's PID namespace, and a cancelled Exec ends its
// command, not only nsenter.
func TestExecInHostPIDNamespace(t *testing.T) {
	l := labForTest(t)
	h := l.Hosts[0]
	out, err := l.Exec(context.Background(), h.Name, "sh", "-c", "echo $$; cat /proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	var init string
	if _, err := fmt.Sscan(string(out), &pid, &init); err != nil || pid > 1000 || init != "sh" {
		t.Fatalf("%s: Exec's shell has pid %d and PID 1 is %q (%v); want a host pid and the lab's init", h.Name, pid, init, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := l.Exec(ctx, h.Name, "sleep", "31.5"); err == nil {
		t.Fatal("an Exec cancelled after 300ms succeeded")
	}
	time.Sleep(200 * time.Millisecond)
	left, err := l.Exec(context.Background(), h.Name, "ps", "-eo", "args=")
	if err != nil || strings.Contains(string(left), "sleep 31.5") {
		t.Fatalf("%s: a cancelled Exec's command survives: %v\n%s", h.Name, err, left)
	}
}
