package lua

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"

	glua "github.com/yuin/gopher-lua"
)

// gather reads the host's facts and, in the same round trip, what the
// playbook's prefetch lists, and reports the facts as the first result.
// The prefetch function runs before the facts exist: it sees v only.
func (r *hostRun) gather(prefetch *glua.LFunction) error {
	e := r.e
	start := r.o.Start
	if start.IsZero() {
		start = time.Now()
	}
	var reads []string
	if prefetch != nil {
		var err error
		if reads, err = e.prefetchLines(prefetch); err != nil {
			return err
		}
		e.warmed = true
	}
	// The facts read the firewall as its own read does.
	reads = slices.DeleteFunc(reads, func(l string) bool { return l == firewallReadLine })
	facts, outs, err := gatherFacts(e, reads)
	r.emit(remote.FactsResult(err, facts, start))
	if err != nil {
		return err
	}
	e.setFacts(facts)
	if len(outs) > 0 {
		e.once = make(map[string]remote.Output, len(outs))
		for i, out := range outs {
			e.once[reads[i]] = out
		}
	}
	if r.o.Gathered != nil {
		r.o.Gathered(facts)
	}
	return nil
}

// gatherFacts reads the facts and the reads, and returns the facts and
// each read's output. The firewall's read the facts hold is kept, with
// its model, for the firewall module.
func gatherFacts(e *Env, reads []string) (remote.Facts, []remote.Output, error) {
	out, outs, err := factsOutput(e, reads)
	if err != nil {
		return remote.Facts{}, nil, err
	}
	facts, fw, err := ParseFacts(out.Stdout, e.readOnly)
	if err != nil {
		return remote.Facts{}, nil, err
	}
	if fw != nil {
		e.keepParsed(firewallReadLine, out, fw)
	}
	return facts, outs, nil
}

// readOnly runs a read-only command while the facts are gathered, for
// firewall.Read, logged as the facts' own; a non-zero exit status is an
// error.
func (e *Env) readOnly(argv []string) ([]byte, error) {
	out, err := e.logged(shell.Join(argv...), nil)
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("exit %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return out.Stdout, err
}

// firewallReadLine is the firewall's read, which the facts take too.
var firewallReadLine = shell.Join(firewall.ReadArgv...)

// factsOutput runs the facts command, in a batch with reads when there
// are any, and returns its output and each read's (none when the batch
// did not work out: a host whose shell surprised us, or whose reads
// together passed the output limit, still gives its facts, and each read
// runs alone when a task asks for it).
func factsOutput(e *Env, reads []string) (remote.Output, []remote.Output, error) {
	if len(reads) > 0 {
		b := shell.NewBatch(append([]string{FactsCommand()}, reads...))
		out, err := e.logged(b.Command(), nil)
		if err != nil && !errors.Is(err, remote.ErrOutputLimit) {
			return out, nil, fmt.Errorf("gather facts: %w", err)
		}
		if all, serr := b.Split(out.Stdout); err == nil && serr == nil && out.ExitCode == 0 && all[0].ExitCode == 0 {
			return all[0], all[1:], nil
		}
	}
	out, err := e.logged(FactsCommand(), nil)
	if err != nil {
		return out, nil, fmt.Errorf("gather facts: %w", err)
	}
	if out.ExitCode != 0 {
		return out, nil, fmt.Errorf("gather facts: exit %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
	}
	return out, nil, nil
}

// setFacts gives the VM the facts gathered after it started.
func (e *Env) setFacts(f remote.Facts) {
	e.facts = f
	installFields(e.state, e)
}
