package firewall

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/revert"
)

// Changed is what a firewall change did, or would do in check mode.
type Changed struct {
	Commands [][]string // the live commands, run or that would run
	Boot     bool       // what boot loads changed too
	Before   string     // the verdict that made the change necessary
}

// Any reports whether anything changed.
func (c Changed) Any() bool { return len(c.Commands) > 0 || c.Boot }

// Allow makes the flow pass now and after a reboot: the live rules change
// under a timed revert when they could cut the session, then remedy's
// rule goes into what boot loads. What boot loads is checked first, so a
// change a reboot would undo is refused before anything changes; persist
// lets it enable a unit that is installed but disabled.
func Allow(s change.Session, a firewall.Allow, persist bool) (Changed, error) {
	st, seq, err := readForChange(s)
	if err != nil {
		return Changed{}, err
	}
	if st.System.Backend == firewall.Firewalld && a.Dir == "out" {
		if st.System.Out, err = firewalldOut(s, a); err != nil {
			return Changed{}, err
		}
	}
	plan, err := firewall.PlanAllow(st.Rules, st.System, a)
	if err != nil {
		return Changed{}, fmt.Errorf("%s: %w", s.Name(), err)
	}
	edit := func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error) {
		return firewall.PlanBootAllow(f, text, rs, a)
	}
	boot, err := planBoot(s, st.System, fmt.Sprintf("allow %s %s/%s", a.Dir, a.Proto, a.Ports), persist, edit)
	if err != nil {
		return Changed{}, err
	}
	if !plan.Already {
		passes := func() (bool, error) {
			st, err := Read(s)
			if err != nil {
				return false, err
			}
			again, err := firewall.PlanAllow(st.Rules, st.System, a)
			return err == nil && again.Already, nil
		}
		if err := applyLive(s, seq, st.System, plan.Commands, a.Dir == "in", passes); err != nil {
			return Changed{}, err
		}
	}
	if err := applyBoot(s, seq, boot, edit); err != nil {
		return Changed{}, err
	}
	return Changed{Commands: plan.Commands, Boot: !boot.empty(), Before: before(plan.Before)}, nil
}

// firewalldOut reads what an outbound opening builds on: remedy's live
// policy in firewalld's runtime, the permanent policy of a's comment
// (firewall.FirewalldOut).
func firewalldOut(s change.Session, a firewall.Allow) (firewall.FirewalldOut, error) {
	out, err := query(s, true, firewall.FirewalldOutArgv(a)...)
	if err != nil {
		return firewall.FirewalldOut{}, err
	}
	fo, err := firewall.ReadFirewalldOut(out)
	if err != nil {
		return fo, fmt.Errorf("%s: firewalld: %w", s.Name(), err)
	}
	return fo, nil
}

func before(rs []firewall.Result) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].Verdict + ": " + rs[0].Reason
}

// Remove removes the rules remedy added under a comment starting with
// prefix, live and from the files boot loads, and what allow_domain made
// with them (firewall.PlanRemove): its refresh job, sets and DNS rules.
func Remove(s change.Session, prefix string, persist bool) (Changed, error) {
	st, seq, err := readForChange(s)
	if err != nil {
		return Changed{}, err
	}
	in, err := installed(s, st.System, st.ZoneInfo, prefix)
	if err != nil {
		return Changed{}, err
	}
	jobs, err := query(s, false, firewall.DomainJobsArgv()...)
	if err != nil {
		return Changed{}, err
	}
	in.DomainJobs = firewall.ReadDomainJobs(jobs)
	if st.System.Backend == firewall.IptablesLegacy || st.System.Backend == firewall.IptablesNft {
		ipsets, err := query(s, false, firewall.IpsetNamesArgv()...)
		if err != nil {
			return Changed{}, err
		}
		in.Ipsets = strings.Fields(string(ipsets))
	}
	plan, err := firewall.PlanRemove(st.Rules, st.System, in, prefix)
	if err != nil {
		return Changed{}, fmt.Errorf("%s: %w", s.Name(), err)
	}
	domains := firewall.RemovedDomains(st.Rules, in, prefix)
	edit := func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error) {
		return firewall.PlanBootRemoveDomains(f, text, rs, prefix, domains, in)
	}
	boot, err := planBoot(s, st.System, "remove the rules commented "+strconv.Quote(prefix), persist, edit)
	if err != nil {
		return Changed{}, err
	}
	if err := bootIpsetsRemoval(s, st.System, &boot, domains, edit); err != nil {
		return Changed{}, err
	}
	if !plan.Already {
		if err := applyLive(s, seq, st.System, plan.Commands, true, nil); err != nil {
			return Changed{}, err
		}
	}
	if err := applyBoot(s, seq, boot, edit); err != nil {
		return Changed{}, err
	}
	return Changed{Commands: plan.Commands, Boot: !boot.empty()}, nil
}

// installed reads where ufw and firewalld keep remedy's comments, and
// firewalld's runtime zone rt (HostRead.ZoneInfo) with the ports of the
// services a removal of prefix takes out: over D-Bus in one read, else
// with firewall-cmd.
func installed(s change.Session, sys firewall.System, rt []byte, prefix string) (firewall.Installed, error) {
	var in firewall.Installed
	var err error
	var out []byte
	switch sys.Backend {
	case firewall.Ufw:
		out, err = query(s, false, "ufw", "status", "numbered")
		in.UfwNumbered = string(out)
	case firewall.Firewalld:
		if sys.Bus {
			if out, err = query(s, false, firewall.FirewalldInstalledArgv(sys.Zone, prefix)...); err != nil {
				return in, err
			}
			if in, err = firewall.ReadFirewalldInstalled(out); err != nil {
				return in, fmt.Errorf("%s: %w", s.Name(), err)
			}
			// Over D-Bus the runtime holds remedy's rich rules beside
			// the service (firewall.planFirewalld): removal takes them
			// out too.
			if z, err := firewall.ReadFirewalldZoneSettings(sys.Zone, rt); err == nil {
				in.Runtime = &z
			}
			return in, nil
		}
		if out, err = query(s, false, "firewall-cmd", "--permanent", "--get-services"); err != nil {
			return in, err
		}
		in.FirewalldServices = strings.Fields(string(out))
		if out, err = query(s, false, "firewall-cmd", "--permanent", "--get-policies"); err != nil {
			return in, err
		}
		in.FirewalldPolicies = strings.Fields(string(out))
		if out, err = query(s, false, "firewall-cmd", "--permanent", "--get-ipsets"); err != nil {
			return in, err
		}
		in.FirewalldIpsets = strings.Fields(string(out))
		if out, err = query(s, false, firewall.FirewalldCommentsArgv()...); err != nil {
			return in, err
		}
		if in.FirewalldComments, err = firewall.ReadFirewalldComments(out); err != nil {
			return in, fmt.Errorf("%s: %w", s.Name(), err)
		}
		out, err = query(s, false, "firewall-cmd", "--permanent", "--zone="+sys.Zone, "--list-rich-rules")
		in.FirewalldRichRules = strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	return in, err
}

// readForChange reads the firewall for a function that may change the
// host, and starts the sequence of its changes. While a timed revert
// armed by an earlier run is pending, that revert will take back the
// rules this run would build on (a rerun that finds the new SSH port
// already open would move sshd onto it alone, and the revert would then
// close it: a lockout): the sequence's first step refuses to go on, which
// an audit reports instead.
func readForChange(s change.Session) (*State, change.Sequence, error) {
	st, err := Read(s)
	if err != nil {
		return nil, nil, err
	}
	seq := s.Begin()
	if len(st.Pending) == 0 {
		return st, seq, nil
	}
	d := revert.DirPrefix + st.Pending[0]
	msg := fmt.Sprintf("a timed revert armed by an earlier run is pending (%s): it will restore what it saved before that run's change once that run has been silent for %s (at most %s after it armed)", d, revert.Window, revert.MaxArmed)
	_, err = seq.Apply(change.Step{Say: change.Say{Would: msg}, Run: func() error {
		return fmt.Errorf("firewall: %s; run again after it fires, or disarm it if that run's change is known to be safe: kill $(cat %s/pid); rm -rf %s", msg, d, d)
	}}, nil)
	return st, seq, err
}

// applyLive runs commands, then, when passes is given, reads the host
// again and checks the flow passes. On the input path a revert is armed
// first and disarmed only once a fresh SSH connection succeeds; what boot
// loads is written after that (applyBoot), so a reboot cannot bring back
// a change that cut the controller off.
func applyLive(s change.Session, seq change.Sequence, sys firewall.System, cmds [][]string, inputPath bool, passes func() (bool, error)) error {
	note := "what ran is live but not persisted"
	var r revert.Revert
	var pushed time.Time
	// proveLife pushes the revert's deadline forward once a quarter of
	// its window has passed: each command the host answered shows the
	// controller is there, however slow the host (package revert).
	proveLife := func() error {
		if !inputPath || !r.Due(pushed) {
			return nil
		}
		pushed = time.Now()
		if err := commands(seq, r.Extend); err != nil {
			return fmt.Errorf("%w; %s", err, note)
		}
		return nil
	}
	if inputPath {
		var err error
		if r, err = firewall.PlanRevert(sys, revert.NewToken("fw"), revert.Window); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		if err := commands(seq, r.Arm); err != nil {
			return err
		}
		pushed = time.Now()
		note = fmt.Sprintf("the revert armed on the host restores the previous rules once the controller has been silent for %s", r.Window)
	}
	for _, c := range cmds {
		if _, err := seq.Apply(change.Command{Argv: c}, nil); err != nil {
			return fmt.Errorf("%w; %s", err, note)
		}
		if err := proveLife(); err != nil {
			return err
		}
	}
	if passes != nil {
		verify := change.Step{Describe: "# read the firewall again: the flow must pass", Run: func() error {
			ok, err := passes()
			if err == nil && !ok {
				err = fmt.Errorf("%s: firewall: the change did not take effect; %s", s.Name(), note)
			}
			return err
		}}
		if _, err := seq.Apply(verify, nil); err != nil {
			return err
		}
		if err := proveLife(); err != nil {
			return err
		}
	}
	if !inputPath {
		return nil
	}
	port := s.Port()
	login := change.Step{Describe: fmt.Sprintf("# log in on port %d from the controller over a new connection", port), Run: func() error {
		if err := s.Probe(s.Context(), port); err != nil {
			return fmt.Errorf("%s: firewall: no new SSH connection after the change: %w; %s", s.Name(), err, note)
		}
		return nil
	}}
	if _, err := seq.Apply(login, nil); err != nil {
		return err
	}
	// A push (when due) finds out whether the revert fired meanwhile,
	// where a disarm would stop nothing and report a change the host has
	// taken back.
	if err := proveLife(); err != nil {
		return err
	}
	return commands(seq, r.Disarm)
}

// commands runs each command through the sequence.
func commands(seq change.Sequence, cmds [][]string) error {
	for _, c := range cmds {
		if _, err := seq.Apply(change.Command{Argv: c}, nil); err != nil {
			return err
		}
	}
	return nil
}
