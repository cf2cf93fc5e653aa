package labkit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A probe is one TCP connect or one UDP datagram, and what answered it,
// read off its socket precisely: a firewall's reject, a port nobody
// listens on and a failure of the prober's own host all fail a plain
// dial the same way. Its socket queues the ICMP errors it is sent
// (IP_RECVERR) with their sender, type and code.

// An ICMPError is the ICMP error that answered a probe.
type ICMPError struct {
	From       netip.Addr     // who sent the error
	To         netip.AddrPort // where the probe went
	Local      netip.Addr     // the probe's own address
	Type, Code uint8
	Errno      syscall.Errno // what the socket reported: ECONNREFUSED for a port unreachable, ...
}

func (e *ICMPError) Error() string {
	return fmt.Sprintf("%s to %s: ICMP %s from %s", e.Errno, e.To, icmpName(e.Type, e.Code), e.From)
}

func (e *ICMPError) Unwrap() error { return e.Errno }

// FromProber reports an error the prober's own host sent it: a
// neighbour that did not answer, a route that failed on the way out,
// its own output rules' reject.
func (e *ICMPError) FromProber() bool { return e.From == e.Local }

// Unreachable reports a network or host unreachable: what a host says
// of a neighbour or route that failed, not what a reject rule sends
// (port unreachable, or a prohibited, unless it names one).
func (e *ICMPError) Unreachable() bool {
	return e.Type == icmpDestUnreach && (e.Code == 0 || e.Code == 1)
}

// PortUnreachable reports the error a host sends for a datagram or SYN
// no socket takes, and most rejects send too.
func (e *ICMPError) PortUnreachable() bool { return e.Type == icmpDestUnreach && e.Code == 3 }

const icmpDestUnreach = 3

func icmpName(typ, code uint8) string {
	if typ == icmpDestUnreach {
		switch code {
		case 0:
			return "net-unreachable"
		case 1:
			return "host-unreachable"
		case 3:
			return "port-unreachable"
		case 9:
			return "net-prohibited"
		case 10:
			return "host-prohibited"
		case 13:
			return "admin-prohibited"
		}
	}
	return fmt.Sprintf("type %d code %d", typ, code)
}

// ErrReset is a TCP connect answered with a reset. It is an
// ECONNREFUSED (errors.Is).
var ErrReset error = resetError{}

type resetError struct{}

func (resetError) Error() string        { return "connection refused: reset (RST)" }
func (resetError) Is(target error) bool { return target == syscall.ECONNREFUSED }

// A LocalError is a probe that failed in the prober itself before any
// packet could answer: no socket, no route, a send its kernel refused for
// a reason of its own. No firewall decided it.
type LocalError struct {
	Op  string
	Err error
}

func (e *LocalError) Error() string { return "the prober's own " + e.Op + ": " + e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// ProbeTCP connects to `to` once, from the calling thread's network
// namespace, and says what answered: nil for a connection; ErrReset, an
// *ICMPError, a *LocalError, a timeout (os.ErrDeadlineExceeded: no
// answer) or EPERM (the prober's own output rules refused the SYN).
// A timeout under a second sends one SYN: the kernel sends it again after
// a second.
func ProbeTCP(to netip.AddrPort, timeout time.Duration) error {
	s, err := newProbeSocket(unix.SOCK_STREAM, to, timeout)
	if err != nil {
		return err
	}
	defer s.f.Close()
	switch err := s.connect(); {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPERM):
		return &os.SyscallError{Syscall: "connect", Err: err}
	case !errors.Is(err, unix.EINPROGRESS):
		return &LocalError{"connect to " + to.String(), err}
	}
	var cerr error
	err = s.rc.Write(func(fd uintptr) bool {
		n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			cerr = err
		case n != 0:
			cerr = syscall.Errno(n)
		default:
			_, err := unix.Getpeername(int(fd))
			return err == nil // not yet connected: wait on
		}
		return true
	})
	switch {
	case err != nil:
		return fmt.Errorf("connect to %s: %w", to, err)
	case cerr == nil:
		return nil
	}
	return s.answer(cerr)
}

// ProbeUDP sends payload to `to` from the calling thread's network
// namespace and waits for a reply. It returns the reply, the probe's own
// address and port, and what else answered: an *ICMPError, a *LocalError,
// a timeout (os.ErrDeadlineExceeded: silence), or EPERM (the prober's own
// output rules refused the datagram, and no ICMP error followed).
func ProbeUDP(to netip.AddrPort, payload []byte, timeout time.Duration) ([]byte, netip.AddrPort, error) {
	s, err := newProbeSocket(unix.SOCK_DGRAM, to, timeout)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	defer s.f.Close()
	if err := s.connect(); err != nil {
		return nil, netip.AddrPort{}, &LocalError{"route to " + to.String(), err}
	}
	var werr error
	err = s.rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), payload)
		return werr != unix.EAGAIN
	})
	switch {
	case err != nil:
		return nil, s.local, fmt.Errorf("send to %s: %w", to, err)
	case werr != nil && werr != unix.EPERM:
		return nil, s.local, &LocalError{"send to " + to.String(), werr}
	}
	// A reject in the prober's own output hook fails the send with EPERM,
	// as a drop does, and sends it an ICMP error too.
	buf := make([]byte, 512)
	var n int
	var rerr error
	err = s.rc.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), buf)
		return rerr != unix.EAGAIN
	})
	switch {
	case err != nil && werr != nil:
		return nil, s.local, &os.SyscallError{Syscall: "sendto", Err: werr}
	case err != nil:
		return nil, s.local, fmt.Errorf("no reply from %s: %w", to, err)
	case rerr != nil:
		return nil, s.local, s.answer(rerr)
	}
	return buf[:n], s.local, nil
}

// probeSocket is a non-blocking IPv4 socket that queues the ICMP errors
// it is sent, polled by the runtime so that its deadline holds.
type probeSocket struct {
	f     *os.File
	rc    syscall.RawConn
	to    netip.AddrPort
	local netip.AddrPort
	tcp   bool
}

func newProbeSocket(typ int, to netip.AddrPort, timeout time.Duration) (*probeSocket, error) {
	if !to.Addr().Is4() {
		return nil, &LocalError{"socket", fmt.Errorf("%s is not an IPv4 address", to)}
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &LocalError{"socket", err}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1); err != nil {
		unix.Close(fd)
		return nil, &LocalError{"socket", err}
	}
	f := os.NewFile(uintptr(fd), "probe "+to.String())
	rc, err := f.SyscallConn()
	if err == nil {
		err = f.SetDeadline(time.Now().Add(timeout))
	}
	if err != nil {
		f.Close()
		return nil, &LocalError{"socket", err}
	}
	return &probeSocket{f: f, rc: rc, to: to, tcp: typ == unix.SOCK_STREAM}, nil
}

// connect connects the socket (for TCP, sends the SYN) and notes its own
// address. A probe to the prober's own address never leaves it: whatever
// answers is not the host meant.
func (s *probeSocket) connect() error {
	var err error
	cerr := s.rc.Control(func(fd uintptr) {
		err = unix.Connect(int(fd), &unix.SockaddrInet4{Port: int(s.to.Port()), Addr: s.to.Addr().As4()})
		if sa, serr := unix.Getsockname(int(fd)); serr == nil {
			if in4, ok := sa.(*unix.SockaddrInet4); ok {
				s.local = netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port))
			}
		}
	})
	switch {
	case cerr != nil:
		return cerr
	case s.local.Addr() == s.to.Addr():
		return fmt.Errorf("%s is the prober's own address", s.to.Addr())
	}
	return err
}

// answer says what failed the probe with errno: the ICMP error its socket
// queued; for a refused TCP connect with none queued, a reset; else the
// prober's own host.
func (s *probeSocket) answer(errno error) error {
	var icmp *ICMPError
	var qerr error
	s.rc.Control(func(fd uintptr) { icmp, qerr = readICMP(int(fd)) })
	switch {
	case icmp != nil:
		icmp.To, icmp.Local = s.to, s.local.Addr()
		if e, ok := errno.(syscall.Errno); ok {
			icmp.Errno = e
		}
		return icmp
	case s.tcp && errors.Is(errno, unix.ECONNREFUSED):
		return ErrReset
	case qerr != nil:
		return &LocalError{"error queue", qerr}
	}
	return &LocalError{"socket (" + s.to.String() + ")", errno}
}

// sizeofSockExtendedErr is the size of struct sock_extended_err
// (unix.SockExtendedErr): errno, origin, type, code, pad, info, data.
const sizeofSockExtendedErr = 16

// readICMP takes the first error off fd's error queue: an *ICMPError for
// one an ICMP message brought, nil with no error for none queued, or the
// local error the kernel queued instead.
func readICMP(fd int) (*ICMPError, error) {
	buf, oob := make([]byte, 64), make([]byte, 256)
	_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err == unix.EAGAIN {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_IP || m.Header.Type != unix.IP_RECVERR || len(m.Data) < sizeofSockExtendedErr {
			continue
		}
		d := m.Data
		e := &ICMPError{Errno: syscall.Errno(binary.NativeEndian.Uint32(d[0:4])), Type: d[5], Code: d[6]}
		if d[4] != unix.SO_EE_ORIGIN_ICMP {
			return nil, e.Errno
		}
		// The offender, a struct sockaddr_in, follows the error.
		if off := d[sizeofSockExtendedErr:]; len(off) >= 8 && binary.NativeEndian.Uint16(off[0:2]) == unix.AF_INET {
			e.From = netip.AddrFrom4([4]byte(off[4:8]))
		}
		return e, nil
	}
	return nil, fmt.Errorf("the error queue holds no IP error")
}
