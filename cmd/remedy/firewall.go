package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"remedy/inventory"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
	"remedy/lua/valid"
	"remedy/runner"
	"remedy/runner/output"
	"remedy/runner/recap"
)

// explainFlags are `remedy firewall explain`'s options; the
// connection's are connFlags, declared as run declares them.
type explainFlags struct {
	conn   connFlags
	output string
	src    string
	dst    string
	iface  string
	sport  int
	out    bool
}

func init() {
	fw := &cobra.Command{
		Use:   "firewall",
		Short: "Look at a host's firewall: explain why a port is open or blocked",
	}
	fw.AddCommand(newExplainCmd(&explainFlags{}))
	rootCmd.AddCommand(fw)
}

func newExplainCmd(f *explainFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain HOST PROTO/PORT",
		Short: "Print the path a new connection takes through a host's firewall, rule by rule",
		Long: `explain reads the firewall of HOST (a host or pattern of the inventory)
as firewall.verdict does, changing nothing, and prints the path the first
packet of a new connection to PROTO/PORT (tcp/22, udp/33001) takes: hook
by hook, chain by chain, rule by rule with each rule's text and whether
it matched, then the verdict and its reason. A TCP connection's answer
(the SYN-ACK) is followed too.

The packet is worked out from the host's own view: it comes from the
controller's address as the host sees it (--src another), arrives on the
interface of the host's route back to it (--iface another), addressed to
that interface's address (--dst another), from an ephemeral port
(--sport one). --out asks about a connection the host makes instead: to
--dst, leaving by the route's interface from its address.

Exit codes: 0 explained, 2 a host's firewall could not be read, 4 a host
was unreachable, 5 bad command line or inventory.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return explainCommand(cmd.Context(), cmd.OutOrStdout(), args[0], args[1], f)
		},
	}
	addConnFlags(cmd, &f.conn, time.Minute)
	fl := cmd.Flags()
	fl.StringVar(&f.src, "src", "", "the source `ADDR` (in: the peer; default the controller as the host sees it; \"any\": from anywhere)")
	fl.StringVar(&f.dst, "dst", "", "the destination `ADDR` (in: the host's address; out: the peer)")
	fl.StringVar(&f.iface, "iface", "", "the interface `NAME` it arrives on (in) or leaves by (out); default the route's")
	fl.IntVar(&f.sport, "sport", 0, "the source `PORT`; default an ephemeral one")
	fl.BoolVar(&f.out, "out", false, "a connection the host makes, through the output hook")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// explanation is one host's answer, as -o json prints it.
type explanation struct {
	Host    string           `json:"host"`
	Probe   *explainedProbe  `json:"probe,omitempty"`
	Steps   []firewall.Step  `json:"steps,omitempty"`
	Verdict *firewall.Result `json:"verdict,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// explainedProbe is the packet the host was asked about, and where each
// of its fields came from.
type explainedProbe struct {
	Dir   string            `json:"dir"`
	Proto string            `json:"proto"`
	Port  int               `json:"port"`
	SPort int               `json:"sport,omitempty"` // 0: an ephemeral one
	Src   string            `json:"src,omitempty"`
	Dst   string            `json:"dst,omitempty"`
	Iif   string            `json:"iif,omitempty"`
	Oif   string            `json:"oif,omitempty"`
	Notes map[string]string `json:"notes,omitempty"`
	Text  string            `json:"text"`
}

// explainCommand reads every host the pattern names, with reads alone,
// and prints each one's path.
func explainCommand(ctx context.Context, stdout io.Writer, pattern, protoPort string, f *explainFlags) error {
	probe, err := parseExplainProbe(protoPort, f)
	if err != nil {
		return badInput(err)
	}
	if f.output != "text" && f.output != "json" {
		return badInput(fmt.Errorf("-o %q: want text or json", f.output))
	}
	if err := f.conn.checkBecomeMethod(); err != nil {
		return err
	}
	if len(f.conn.inventories) == 0 {
		return badInput(errors.New("no inventory: give one with -i FILE (or -i 'host1,host2,')"))
	}
	inv, err := inventory.Load(f.conn.inventories)
	if err != nil {
		return badInput(err)
	}
	invHosts, err := inv.Hosts(pattern)
	if err != nil {
		return badInput(err)
	}
	if len(invHosts) == 0 {
		return badInput(fmt.Errorf("no hosts match %q in %s", pattern, strings.Join(f.conn.inventories, ", ")))
	}
	secrets, err := askSecrets(&f.conn)
	if err != nil {
		return err
	}
	hosts, err := targets(withSSHArgs(invHosts, f.conn.sshCommonArgs), &f.conn, secrets)
	if err != nil {
		return badInput(err)
	}
	opts, err := connectOptions(&f.conn, secrets, hosts)
	if err != nil {
		return badInput(err)
	}
	opts.MaxFailPercent = -1
	var mu sync.Mutex
	byHost := map[string]explanation{}
	play := func(ctx context.Context, h remote.Host, _ runner.HostPlay) error {
		e, err := explainHost(ctx, h, probe)
		mu.Lock()
		byHost[h.Name()] = e
		mu.Unlock()
		return err
	}
	info := recap.Play{Name: "firewall explain " + protoPort, Check: true, Started: time.Now()}
	for _, h := range hosts {
		info.Hosts = append(info.Hosts, h.Target.Name)
	}
	rc, _ := runner.Run(ctx, info, hosts, play, opts, quiet{})
	var all []explanation
	code := exitOK
	for _, rep := range rc.Hosts {
		e, ok := byHost[rep.Host]
		if !ok {
			e = explanation{Host: rep.Host}
		}
		if rep.Err != nil && e.Error == "" {
			e.Error = rep.Err.Error()
		}
		switch {
		case rep.Unreachable:
			code = exitUnreachable
		case e.Error != "" && code == exitOK:
			code = exitFailed
		}
		all = append(all, e)
	}
	if err := printExplanations(stdout, f.output, all); err != nil {
		return err
	}
	switch {
	case rc.Interrupted:
		return context.Canceled
	case code != exitOK:
		return &exitError{code: code, err: fmt.Errorf("firewall explain: %d of %d hosts not explained", countErrors(all), len(all))}
	}
	return nil
}

func countErrors(all []explanation) int {
	n := 0
	for _, e := range all {
		if e.Error != "" {
			n++
		}
	}
	return n
}

// parseExplainProbe reads PROTO/PORT and the flags into the probe.
func parseExplainProbe(protoPort string, f *explainFlags) (firewall.Probe, error) {
	proto, portText, ok := strings.Cut(protoPort, "/")
	if !ok || (proto != "tcp" && proto != "udp") {
		return firewall.Probe{}, fmt.Errorf("%q: want PROTO/PORT, as tcp/22 or udp/33001", protoPort)
	}
	port, err := valid.Port(portText)
	if err != nil {
		return firewall.Probe{}, fmt.Errorf("%q: %w", protoPort, err)
	}
	p := firewall.Probe{Dir: "in", Proto: proto, Port: port, Iface: f.iface}
	if f.out {
		p.Dir = "out"
	}
	if f.iface != "" {
		if err := valid.Iface(f.iface); err != nil {
			return firewall.Probe{}, fmt.Errorf("--iface %q: %w", f.iface, err)
		}
	}
	if f.sport != 0 {
		if p.SPort, err = valid.Port(strconv.Itoa(f.sport)); err != nil {
			return firewall.Probe{}, fmt.Errorf("--sport %d: %w", f.sport, err)
		}
	}
	var src, dst netip.Addr
	srcText := f.src
	if srcText == "any" && !f.out {
		p.AnyPeer, srcText = true, ""
	}
	for _, a := range []struct {
		flag, text string
		to         *netip.Addr
	}{{"--src", srcText, &src}, {"--dst", f.dst, &dst}} {
		if a.text == "" {
			continue
		}
		if err := valid.Addr(a.text); err != nil {
			return firewall.Probe{}, fmt.Errorf("%s %q: %w", a.flag, a.text, err)
		}
		*a.to = netip.MustParseAddr(a.text)
	}
	// The peer is the remote end: the source of a connection in, the
	// destination of one out.
	p.Peer, p.Addr = src, dst
	if f.out {
		p.Peer, p.Addr = dst, src
	}
	return p, nil
}

// explainHost reads h's firewall with the read the firewall module takes
// (firewall.ReadArgv; the tables again where it caught them changing,
// firewall.Read) and, for a peer other than the controller, the
// host's route to it (firewall.RouteArgv): reads alone, nothing else
// runs on the host. Then it traces the probe through what the kernel
// holds.
func explainHost(ctx context.Context, h remote.Host, p firewall.Probe) (explanation, error) {
	e := explanation{Host: h.Name()}
	fail := func(err error) (explanation, error) {
		e.Error = err.Error()
		return e, err
	}
	read, err := readOnHost(ctx, h, firewall.ReadArgv)
	if err != nil {
		return fail(err)
	}
	hr, err := firewall.Read(read, func(argv []string) ([]byte, error) { return readOnHost(ctx, h, argv) })
	if err != nil {
		return fail(fmt.Errorf("%s: read firewall: %w", h.Name(), err))
	}
	pkt, err := hr.Packet(p, func(a netip.Addr) (firewall.Route, error) {
		out, err := h.Exec(ctx, shell.Join(firewall.RouteArgv(a)...), nil)
		if err != nil {
			return firewall.Route{}, err
		}
		return firewall.RouteAnswer(out)
	})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", h.Name(), err))
	}
	res, steps := firewall.Trace(hr.Rules, pkt)
	e.Probe = &explainedProbe{Dir: pkt.Dir, Proto: pkt.Proto, Port: pkt.Port, SPort: pkt.SPort,
		Src: addrString(pkt.Src), Dst: addrString(pkt.Dst), Iif: pkt.Iif, Oif: pkt.Oif, Notes: pkt.Notes, Text: pkt.Describe()}
	e.Steps, e.Verdict = steps, &res
	return e, nil
}

// readOnHost runs a read-only command; a non-zero exit status is an error.
func readOnHost(ctx context.Context, h remote.Host, argv []string) ([]byte, error) {
	out, err := h.Exec(ctx, shell.Join(argv...), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name(), err)
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("%s: %s: exit status %d: %s", h.Name(), argv[0], out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return out.Stdout, nil
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func printExplanations(w io.Writer, format string, all []explanation) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Hosts []explanation `json:"hosts"`
		}{all})
	}
	var b strings.Builder
	for i, e := range all {
		if i > 0 {
			b.WriteString("\n")
		}
		writeExplanation(&b, e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeExplanation prints one host's path for a person. Everything the
// host sent (rule texts, chain and interface names, reasons) goes
// through output.Visible, so a ruleset cannot move the cursor or clear
// the screen of the sysadmin reading it.
func writeExplanation(b *strings.Builder, e explanation) {
	v := output.Visible
	fmt.Fprintf(b, "%s: ", v(e.Host))
	if e.Error != "" {
		fmt.Fprintf(b, "not explained: %s\n", v(e.Error))
		return
	}
	p := e.Probe
	way := map[string]string{"in": "a connection in", "out": "a connection out"}[p.Dir]
	fmt.Fprintf(b, "%s, %s\n", way, v(p.Text))
	for _, k := range []string{"src", "dst", "iif", "oif"} {
		if why := p.Notes[k]; why != "" {
			fmt.Fprintf(b, "  %s: %s\n", k, v(why))
		}
	}
	packet, hook := "", ""
	for _, s := range e.Steps {
		if s.Packet != packet {
			packet, hook = s.Packet, ""
			title := "the first packet"
			switch packet {
			case "answer":
				title = "its answer (the SYN-ACK back)"
			case "ICMP error", "TCP reset":
				title = "the " + packet + " the reject sends back"
			}
			fmt.Fprintf(b, "\n%s\n", title)
		}
		if s.Hook != hook {
			hook = s.Hook
			fmt.Fprintf(b, "  hook %s\n", v(hook))
		}
		indent := strings.Repeat("  ", 2+s.Depth)
		switch {
		case s.Chain == "":
			fmt.Fprintf(b, "%s%s\n", indent, v(s.Action))
		case s.Enter:
			fmt.Fprintf(b, "%schain %s (priority %d, policy %s)", indent, v(s.Chain), s.Priority, v(policyText(s.Policy)))
			if s.Action != "" {
				fmt.Fprintf(b, ": %s", v(s.Action))
			}
			b.WriteString("\n")
		case s.Rule == "":
			fmt.Fprintf(b, "%s  -> %s\n", indent, v(s.Action))
		default:
			mark := map[string]string{firewall.MatchYes: "match", firewall.MatchNo: "  no ", firewall.MatchUndecided: "  ?  "}[s.Match]
			fmt.Fprintf(b, "%s  [%s] %s", indent, mark, v(s.Rule))
			if s.Match != firewall.MatchNo {
				fmt.Fprintf(b, "  -> %s", v(s.Action))
			}
			if s.Why != "" {
				fmt.Fprintf(b, " (%s)", v(s.Why))
			}
			b.WriteString("\n")
		}
	}
	r := e.Verdict
	fmt.Fprintf(b, "\nverdict: %s\n  %s\n", v(r.Verdict), v(r.Reason))
}

func policyText(p string) string {
	if p == "" {
		return "accept"
	}
	return p
}

// quiet is the observer of explain's run: explain prints its own answer
// once every host is read.
type quiet struct{}

func (quiet) Start(recap.Play)          {}
func (quiet) HostStarted(string)        {}
func (quiet) Command(recap.Command)     {}
func (quiet) Log(string, string)        {}
func (quiet) Result(remote.Result)      {}
func (quiet) HostDone(recap.HostReport) {}
func (quiet) End(recap.Recap)           {}
