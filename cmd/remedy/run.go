package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"remedy/inventory"
	"remedy/lua"
	"remedy/lua/remote"
	"remedy/runner"
	"remedy/runner/output"
	"remedy/runner/recap"
)

// runFlags are the flags run and audit share, named as ansible-playbook
// names them.
type runFlags struct {
	connFlags
	limit          string
	extraVars      []string
	check, diff    bool
	verbose        int
	output         string
	serial         string
	maxFailPercent float64
	tags, skipTags []string
	startAt        string
	listTasks      bool
	listTags       bool
	listHosts      bool
	syntaxCheck    bool
	step           bool
	luaPath        []string
	retryFile      string
	report         string
	changeID       string
	updateInv      bool // run only
	shard          string
	summaryOnly    bool
}

func init() {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run PLAYBOOK",
		Short: "Run a playbook on the inventory's hosts, changing what it says to change",
		Long: `run connects to every host the playbook targets (narrowed by --limit),
gathers facts, and runs the playbook's tasks, handlers and checks.
PLAYBOOK is a .lua file or a built-in name such as aspera-server.

When sshd.move_port moved a host's SSH port, run prints the inventory
change (ansible_port=33001); --update-inventory also writes it into the
inventory files that name the host, keeping their comments and layout.
--report writes what changed, with diffs and commands, and the checks
after, for a change board (--change-id names the ticket).

Exit codes: 0 all ok, 2 a task failed (or the inventory could not be
updated), 4 a host was unreachable, 5 bad command line, inventory or
playbook, 99 interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlaybook(cmd.Context(), cmd.OutOrStdout(), args[0], f, false)
		},
	}
	addRunFlags(cmd, f)
	cmd.Flags().BoolVarP(&f.check, "check", "C", false, "change nothing: report what would change")
	cmd.Flags().BoolVarP(&f.diff, "diff", "D", false, "show the diffs of files changed (or that would change)")
	cmd.Flags().BoolVar(&f.updateInv, "update-inventory", false, "write ansible_port into the inventory files for hosts whose SSH port moved")
	rootCmd.AddCommand(cmd)
}

func addRunFlags(cmd *cobra.Command, f *runFlags) {
	defer completeRunFlags(cmd)
	addConnFlags(cmd, &f.connFlags, 10*time.Minute)
	fl := cmd.Flags()
	fl.StringVarP(&f.limit, "limit", "l", "", "narrow the hosts to this `PATTERN` (or @FILE, like a retry file)")
	fl.StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "set `VARS` as k=v pairs or @file.yml|json; wins over every other variable")
	fl.CountVarP(&f.verbose, "verbose", "v", "-v shows each remote command and its output, -vv timings too")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text, json or junit")
	fl.StringVar(&f.serial, "serial", "", "run in rolling batches of `N` hosts or N% of them")
	fl.Float64Var(&f.maxFailPercent, "max-fail-percent", -1, "stop when more than `P` percent of a batch failed (default: never)")
	fl.StringSliceVarP(&f.tags, "tags", "t", nil, "run only tasks with these tags")
	fl.StringSliceVar(&f.skipTags, "skip-tags", nil, "skip tasks with these tags")
	fl.StringVar(&f.startAt, "start-at-task", "", "start at the task with this `NAME`")
	fl.BoolVar(&f.listTasks, "list-tasks", false, "list the tasks, checks and handlers the tags select, and exit")
	fl.BoolVar(&f.listTags, "list-tags", false, "list the tags of the tasks and checks the tags select, and exit")
	fl.BoolVar(&f.listHosts, "list-hosts", false, "list the hosts the playbook and --limit select, contacting none, and exit")
	fl.BoolVar(&f.syntaxCheck, "syntax-check", false, "check the playbook as remedy lint does, and exit")
	fl.BoolVar(&f.step, "step", false, "not supported: hosts run their tasks in parallel, each at its own pace")
	fl.StringArrayVar(&f.luaPath, "lua-path", nil, "`DIR` where require finds Lua modules (repeatable)")
	fl.StringVar(&f.retryFile, "retry-file", "", "write failed and unreachable hosts to `FILE`, for -l @FILE")
	fl.StringVar(&f.report, "report", "", "write a report for a change board to `FILE`.html or FILE.md")
	fl.StringVar(&f.changeID, "change-id", "", "the change or ticket `ID` the run belongs to, named in reports and JSON")
	fl.StringVar(&f.shard, "shard", "", "run on shard `K/N` of the selected hosts, chosen by a hash of each host's name; remedy report merge joins the shards' -o json")
	fl.BoolVar(&f.summaryOnly, "summary-only", false, "text output: print the failures, each once with the hosts it is the same on, and the PLAY RECAP, not a line per host and task")
}

// runPlaybook is run and audit: load, select hosts, connect, run, render,
// and choose the exit code.
func runPlaybook(ctx context.Context, stdout io.Writer, path string, f *runFlags, audit bool) error {
	if f.step {
		return badInput(errors.New("--step is not supported: each host runs its tasks at its own pace, in parallel, " +
			"so there is no one next task to confirm; use --start-at-task, -t/--tags or audit instead"))
	}
	if f.syntaxCheck {
		return syntaxCheck(stdout, path, f)
	}
	pb, err := loadPlaybook(path, f.luaPath)
	if err != nil {
		return badInput(err)
	}
	sel, err := selectTasks(pb, f)
	if err != nil {
		return badInput(err)
	}
	switch {
	case f.listTasks:
		listTasks(stdout, pb, sel)
		return nil
	case f.listTags:
		listTags(stdout, pb, sel)
		return nil
	case f.listHosts:
		return listHosts(stdout, pb, f)
	}
	setup, err := prepare(pb, f)
	if err != nil {
		return err
	}
	info := recap.Play{Name: pb.Name(), Path: pb.File(), Check: f.check, Diff: f.diff, Audit: audit,
		Hosts: setup.names(), Started: time.Now(), Provenance: provenance(pb, f, os.Args[1:])}
	obs, finish := observer(stdout, f)
	holdProgress(obs, setup.opts.Credentials)
	recap, hostErrs := runner.Run(ctx, info, setup.hosts, setup.play, setup.opts, obs)
	if err := finish(); err != nil {
		return err
	}
	if hostErrs != nil && f.output != "text" {
		fmt.Fprintln(os.Stderr, output.Visible(hostErrs.Error()))
	}
	if err := writeAfterRun(recap, f); err != nil {
		return err
	}
	invErr := reportMovedPorts(inventoryNotes(stdout, f), recap, setup.inv, f.updateInv)
	outcome := runOutcome(recap)
	if invErr != nil && outcome == nil {
		return &exitError{code: exitFailed, err: invErr}
	}
	if invErr != nil {
		printError(os.Stderr, invErr)
	}
	return outcome
}

// runSetup is everything a run needs, read and checked before any host
// is contacted.
type runSetup struct {
	hosts []runner.Host
	inv   map[string]*inventory.Host // by name, for --update-inventory
	play  runner.PlayFunc
	opts  runner.Options
}

func (s *runSetup) names() []string {
	names := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		names[i] = h.Target.Name
	}
	return names
}

// prepare reads the flags, variables, inventory and SSH settings. Its
// errors are bad input (exit 5), except a failed prompt.
func prepare(pb *lua.Playbook, f *runFlags) (*runSetup, error) {
	serial, err := runner.ParseSerial(f.serial)
	if err != nil {
		return nil, badInput(err)
	}
	if f.output != "text" && f.output != "json" && f.output != "junit" {
		return nil, badInput(fmt.Errorf("-o %q: want text, json or junit", f.output))
	}
	if f.summaryOnly && f.output != "text" {
		return nil, badInput(fmt.Errorf("--summary-only shapes the text output, not -o %s", f.output))
	}
	if f.report != "" {
		if _, err := output.ReportFormatFor(f.report); err != nil {
			return nil, badInput(err)
		}
	}
	if err := f.checkBecomeMethod(); err != nil {
		return nil, err
	}
	extra, err := parseExtraVars(f.extraVars)
	if err != nil {
		return nil, badInput(err)
	}
	whole, invHosts, err := selectHosts(pb, f)
	if err != nil {
		return nil, badInput(err)
	}
	if invHosts, err = inShard(invHosts, f.shard); err != nil {
		return nil, badInput(err)
	}
	for _, h := range invHosts {
		if err := pb.CheckVars(h.Name, h.Vars, extra); err != nil {
			return nil, badInput(err)
		}
	}
	secrets, err := askSecrets(&f.connFlags)
	if err != nil {
		return nil, err
	}
	hosts, err := targets(withExtraVars(withSSHArgs(invHosts, f.sshCommonArgs), extra), &f.connFlags, secrets)
	if err != nil {
		return nil, badInput(err)
	}
	opts, err := connectOptions(&f.connFlags, secrets, hosts)
	if err != nil {
		return nil, badInput(err)
	}
	opts.Serial, opts.MaxFailPercent = serial, f.maxFailPercent
	inv := make(map[string]*inventory.Host, len(invHosts))
	for _, h := range invHosts {
		inv[h.Name] = h
	}
	return &runSetup{hosts: hosts, inv: inv, play: playFunc(pb, f, extra, whole), opts: opts}, nil
}

// selectHosts loads the inventory and picks the hosts the playbook's
// pattern and -l select; the whole inventory is what the magic variables
// groups and hostvars show.
func selectHosts(pb *lua.Playbook, f *runFlags) (*inventory.Inventory, []*inventory.Host, error) {
	if len(f.inventories) == 0 {
		return nil, nil, errors.New("no inventory: give one with -i FILE (or -i 'host1,host2,')")
	}
	inv, err := inventory.Load(f.inventories)
	if err != nil {
		return nil, nil, err
	}
	hosts, err := inv.Hosts(pb.HostPattern())
	if err != nil {
		return nil, nil, err
	}
	if f.limit != "" {
		if hosts, err = inv.Limit(hosts, f.limit); err != nil {
			return nil, nil, err
		}
	}
	if len(hosts) == 0 {
		return nil, nil, fmt.Errorf("no hosts match %q (limit %q) in %s", pb.HostPattern(), f.limit, strings.Join(f.inventories, ", "))
	}
	return inv, hosts, nil
}

// secrets are what the operator typed; they go to sshd and sudo only.
type secrets struct {
	password       string
	becomePassword string
	prompt         runner.Prompt
}

func askSecrets(f *connFlags) (*secrets, error) {
	s := &secrets{prompt: askTerminal}
	var err error
	if f.askPass {
		if s.password, err = askTerminal("SSH password: "); err != nil {
			return nil, err
		}
	}
	switch {
	case f.askBecomePass && f.becomePassFile != "":
		return nil, badInput(errors.New("-K and --become-password-file: give the become password one way"))
	case f.askBecomePass:
		if s.becomePassword, err = askTerminal("BECOME password: "); err != nil {
			return nil, err
		}
	case f.becomePassFile != "":
		if s.becomePassword, err = readPasswordFile(f.becomePassFile); err != nil {
			return nil, badInput(err)
		}
	}
	return s, nil
}

// askTerminal reads a secret from the terminal without echo, from
// /dev/tty when stdin is not one.
func askTerminal(question string) (string, error) {
	in := os.Stdin
	if !term.IsTerminal(int(in.Fd())) {
		tty, err := os.Open("/dev/tty")
		if err != nil {
			return "", fmt.Errorf("%s no terminal to ask on: %w", strings.TrimSuffix(question, ": "), err)
		}
		defer tty.Close()
		in = tty
	}
	fmt.Fprint(os.Stderr, output.Visible(question)) // it may name a key file the inventory gave
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", strings.TrimSuffix(question, ": "), err)
	}
	return string(b), nil
}

// connectOptions sets up the host key check: the operator's files,
// ~/.ssh/known_hosts and --known-hosts, vouch for every host, and new keys
// are recorded in --known-hosts, else ~/.ssh/known_hosts, never in a file
// an inventory names (those vouch only for their own hosts, and are read
// here so a broken one stops the run before any host is contacted).
// Batches (serial, max fail percent) are the caller's to set.
func connectOptions(f *connFlags, s *secrets, hosts []runner.Host) (runner.Options, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return runner.Options{}, fmt.Errorf("home directory: %w", err)
	}
	files := []string{filepath.Join(home, ".ssh", "known_hosts")}
	record := files[0]
	if f.knownHosts != "" {
		files = append(files, f.knownHosts)
		record = f.knownHosts
	}
	keys, err := runner.NewHostKeys(files, record, f.acceptNew)
	if err != nil {
		return runner.Options{}, err
	}
	if err := keys.Load(hosts); err != nil {
		return runner.Options{}, err
	}
	return runner.Options{
		Forks:          f.forks,
		MaxHandshakes:  f.maxHandshakes,
		ConnectTimeout: f.timeout,
		CommandTimeout: f.commandTimeout,
		MaxOutput:      f.maxOutput,
		HostKeys:       keys,
		Credentials:    &runner.Credentials{Password: s.password, Prompt: s.prompt},
	}, nil
}

// targets resolves how to reach each host: inventory, then the command
// line, then ~/.ssh/config, then defaults.
func targets(hosts []*inventory.Host, f *connFlags, s *secrets) ([]runner.Host, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("home directory: %w", err)
	}
	cfg, err := runner.LoadSSHConfig(filepath.Join(home, ".ssh", "config"))
	if err != nil {
		return nil, err
	}
	cli := runner.CommandLine{
		Settings: runner.Settings{User: f.user, KeyFile: f.privateKey},
		Become:   f.become, BecomeMethod: f.becomeMethod, BecomeUser: f.becomeUser, BecomePassword: s.becomePassword,
	}
	return runner.Hosts(hosts, cli, cfg, runner.Defaults{Home: home, User: localUser()})
}

// withSSHArgs gives --ssh-common-args to the hosts whose inventory sets
// no ansible_ssh_common_args: a host variable wins over the command
// line, as in Ansible, and -e over both.
func withSSHArgs(hosts []*inventory.Host, args string) []*inventory.Host {
	if args == "" {
		return hosts
	}
	out := make([]*inventory.Host, len(hosts))
	for i, h := range hosts {
		out[i] = h
		if _, ok := h.Vars["ansible_ssh_common_args"]; !ok {
			out[i] = h.WithVars("--ssh-common-args", map[string]any{"ansible_ssh_common_args": args})
		}
	}
	return out
}

// withExtraVars lays the -e variables over each host's own for the
// connection: they win over every other variable, as in Ansible, so
// -e ansible_port=2222 dials 2222.
func withExtraVars(hosts []*inventory.Host, extra map[string]any) []*inventory.Host {
	if len(extra) == 0 {
		return hosts
	}
	out := make([]*inventory.Host, len(hosts))
	for i, h := range hosts {
		out[i] = h.WithVars("-e", extra)
	}
	return out
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func playFunc(pb *lua.Playbook, f *runFlags, extra map[string]any, inv *inventory.Inventory) runner.PlayFunc {
	return func(ctx context.Context, h remote.Host, p runner.HostPlay) error {
		return pb.Run(ctx, h, lua.RunOptions{
			Check: f.check, Diff: f.diff, Vars: p.Vars, ExtraVars: extra, Inventory: inv,
			Tags: f.tags, SkipTags: f.skipTags, StartAt: f.startAt,
			Gather: true, Gathered: p.Gathered, Start: p.Start,
			Log: playbookLog(p.Log),
		}, p.Emit)
	}
}

// observer picks the renderer -o asks for; finish reports its write error.
func observer(stdout io.Writer, f *runFlags) (obs recap.Observer, finish func() error) {
	switch f.output {
	case "json":
		o := output.NewFinal(stdout, output.WriteJSON)
		return o, o.Err
	case "junit":
		o := output.NewFinal(stdout, output.WriteJUnit)
		return o, o.Err
	}
	var opt output.TextOptions
	if file, ok := stdout.(*os.File); ok {
		opt = output.TerminalTextOptions(file, f.verbose)
	}
	opt.Verbosity = f.verbose
	opt.SummaryOnly = f.summaryOnly
	o := output.NewText(stdout, opt)
	if opt.Progress {
		// Redrawn every second, so the slowest hosts' times count on
		// while the run waits for them.
		t := output.NewTicking(o, time.Second)
		return t, t.Err
	}
	return o, o.Err
}

// writeAfterRun writes the retry file and the audit report.
func writeAfterRun(r recap.Recap, f *runFlags) error {
	if f.retryFile != "" && len(output.RetryHosts(r)) > 0 {
		if err := writeFileWith(f.retryFile, func(w io.Writer) error { return output.WriteRetry(w, r) }); err != nil {
			return err
		}
	}
	if f.report != "" {
		format, err := output.ReportFormatFor(f.report)
		if err != nil {
			return err
		}
		return writeFileWith(f.report, func(w io.Writer) error { return output.WriteReport(w, r, format) })
	}
	return nil
}

// runOutcome turns the recap into the exit code and a one-line reason.
func runOutcome(r recap.Recap) error {
	if r.Interrupted {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted: %d hosts not started", len(r.NotRun))}
	}
	code := output.ExitCode(r)
	if code == exitOK {
		return nil
	}
	return &exitError{code: code, err: errors.New(outcomeSummary(r, code))}
}

// Host outcomes, as the one-line reason under the recap counts them. The
// words are the states and verdicts of the audit table and the JSON
// (docs/output.md): failed, error, a finding (fail or would change),
// unreachable, incomplete.
const (
	outcomeUnreachable = "unreachable"
	outcomeIncomplete  = "incomplete" // interrupted while it ran
	outcomeFailed      = "failed"     // a task failed (outside an audit, a check too)
	outcomeError       = "with errors"
	outcomeFindings    = "with findings" // audit: drift, nothing failed to run
)

// outcomeSummary says how many hosts ended which way, the outcome that
// decided the exit code first: "2 of 10 hosts unreachable, 1 failed,
// 4 with findings". Each host counts once, by its worst outcome in the
// exit code's order, so a host with findings that was also cut off is
// unreachable and the counts add up to at most the hosts; hosts that
// are fine are not named.
func outcomeSummary(r recap.Recap, code int) string {
	counts := map[string]int{}
	for _, h := range r.Hosts {
		counts[hostOutcome(h, r.Play)]++
	}
	lead := map[int]string{exitUnreachable: outcomeUnreachable, exitFailed: outcomeFailed, exitDrift: outcomeFindings}[code]
	if lead == outcomeFailed && counts[outcomeFailed] == 0 {
		lead = outcomeError
	}
	parts := []string{fmt.Sprintf("%d of %d hosts %s", counts[lead], len(r.Hosts), lead)}
	for _, o := range []string{outcomeUnreachable, outcomeFailed, outcomeError, outcomeFindings, outcomeIncomplete} {
		if o != lead && counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	summary := strings.Join(parts, ", ")
	if code == exitDrift {
		return "drift found: " + summary
	}
	return summary
}

// hostOutcome is the worst way h ended, "" when it is fine. The exit
// code's own rules (output.ExitCode) decide which results count, so the
// line cannot say other than the exit code does; within exit 2, a task
// that failed (FAILED!) comes before a task or check that broke
// (ERROR!: it found nothing).
func hostOutcome(h recap.HostReport, play recap.Play) string {
	code := output.ExitCode(recap.Recap{Play: play, Hosts: []recap.HostReport{h}})
	switch {
	case code == exitUnreachable:
		return outcomeUnreachable
	case errors.Is(h.Err, context.Canceled):
		return outcomeIncomplete
	case code == exitFailed && slices.ContainsFunc(h.Results, failedNotBroke(play.Audit)):
		return outcomeFailed
	case code == exitFailed:
		return outcomeError
	case code == exitDrift:
		return outcomeFindings
	}
	return ""
}

// failedNotBroke reports a result that failed, through expect or fail,
// and counts as a failure: not ignored, and not an audit's check (that
// is a finding).
func failedNotBroke(audit bool) func(remote.Result) bool {
	return func(res remote.Result) bool {
		return res.Status == remote.StatusFailed && !res.Error && !res.Ignored && !(audit && res.Kind == remote.KindCheck)
	}
}

// playbookLog passes on what a playbook writes with log() and print().
// The runner already reports every remote command (-v) and its duration
// (-vv), so the runtime's own levels 1 and 2 would only repeat them.
func playbookLog(log func(string)) func(level int, format string, args ...any) {
	return func(level int, format string, args ...any) {
		if level == 0 {
			log(fmt.Sprintf(format, args...))
		}
	}
}
