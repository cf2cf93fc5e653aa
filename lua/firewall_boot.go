package lua

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// bootUnitsScript prints, for each unit named in its arguments, its files
// in `systemctl cat`'s format, then whether boot starts it: from systemd
// where it runs (sd_booted: /run/systemd/system exists), else read from
// the unit files and their .wants links, all there is on a host without
// systemd (a container, a lab host); a link to /dev/null (masked) prints
// as an empty file. Then ufw's ENABLED=.
var bootUnitsScript = `if [ -d /run/systemd/system ]; then
  for u in "$@"; do
    echo "==unit $u"; systemctl cat -- "$u" 2>/dev/null
    echo "==enabled $u"; systemctl is-enabled -- "$u" 2>/dev/null
  done
else
  for u in "$@"; do
    echo "==unit $u"
    for d in ` + strings.Join(firewall.UnitDirs, " ") + `; do
      f="$d/$u"
      if [ -L "$f" ] && [ "$(readlink -f "$f")" = /dev/null ]; then echo "# $f"; continue; fi
      [ -f "$f" ] && { echo "# $f"; cat "$f"; echo; }
      for c in "$d/$u.d"/*.conf; do [ -f "$c" ] && { echo "# $c"; cat "$c"; echo; }; done
    done
    echo "==enabled $u"
    if ls /etc/systemd/system/*.wants/"$u" /etc/systemd/system/*.requires/"$u" 2>/dev/null | grep -q .; then echo enabled; else echo disabled; fi
  done
fi
echo "==ufwconf"; grep -s '^ENABLED=' /etc/ufw/ufw.conf; exit 0`

// bootUnitsArgv reads every unit that may load a firewall at boot. It is
// the same on every host, so it rides along with the firewall's read.
var bootUnitsArgv = append([]string{"sh", "-c", bootUnitsScript, "sh"}, firewall.KnownUnits...)

// bootWarm are the reads of what boot loads that ride along with the
// firewall's read: the units, and the files the distributions' units
// load where a site has not changed them (their text, and an nft file's
// rules), so an audit needs no session of its own for them.
func bootWarm() [][]string {
	reads := [][]string{bootUnitsArgv}
	for _, f := range firewall.DefaultBootFiles {
		reads = append(reads, []string{"cat", "--", f.Path})
		if f.Format == firewall.FormatNft {
			reads = append(reads, nftScratchLoad(f.Path))
		}
	}
	return reads
}

// startedAtBoot are the `systemctl is-enabled` states in which boot
// starts a unit, or may (static units start when another wants them).
var startedAtBoot = map[string]bool{"enabled": true, "enabled-runtime": true, "static": true, "generated": true, "alias": true}

// readBootUnits reads the units that load the governing firewall at boot.
func (h *fwHost) readBootUnits() (map[string]firewall.Unit, bool) {
	names := firewall.BootUnits(h.sys)
	out := h.queryCached(bootUnitsArgv...)
	units := map[string]firewall.Unit{}
	var name, section string
	text := map[string]*strings.Builder{}
	state := map[string]string{}
	ufw := false
	for _, line := range strings.SplitAfter(string(out), "\n") {
		word, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch word {
		case "==unit", "==enabled", "==ufwconf":
			section, name = word, arg
			if text[name] == nil {
				text[name] = &strings.Builder{}
			}
			continue
		}
		switch section {
		case "==unit":
			text[name].WriteString(line)
		case "==enabled":
			state[name] += strings.TrimSpace(line)
		case "==ufwconf":
			ufw = ufw || strings.Contains(line, "ENABLED=yes")
		}
	}
	for _, n := range names {
		var files []firewall.UnitFile
		if text[n] != nil {
			files = firewall.SplitUnitFiles(n, text[n].String())
		}
		u := firewall.ReadUnit(n, files, startedAtBoot[state[n]])
		u.Masked = u.Masked || strings.HasPrefix(state[n], "masked")
		units[n] = u
	}
	return units, ufw
}

// bootChange is what it takes for what boot loads to carry a change:
// boot files to rewrite and units to enable.
type bootChange struct {
	boot   firewall.Boot
	writes []bootWrite
	enable []firewall.Unit
}

// bootWrite is a boot file's text and its new text.
type bootWrite struct {
	file      firewall.BootFile
	old, text string
}

func (c bootChange) empty() bool { return len(c.writes) == 0 && len(c.enable) == 0 }

// bootEdit gives a boot file's new text from its text and its rules.
type bootEdit func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error)

// planBoot plans what makes boot carry a change: edit each boot file.
// When boot would carry nothing (no unit loads the rules, or it is
// disabled) it fails the task before anything changes, naming why;
// persist lets it enable a unit that is installed but disabled instead.
func (h *fwHost) planBoot(what string, persist bool, edit bootEdit) bootChange {
	if h.sys.Backend == "none" {
		return bootChange{}
	}
	units, ufw := h.readBootUnits()
	c := bootChange{boot: firewall.PlanBoot(h.sys, units, ufw)}
	if c.boot.Problem != "" {
		if !persist || len(c.boot.Enable) == 0 || !onlyDisabled(h.sys, units, ufw) {
			h.e.Fail(fmt.Errorf("%s: firewall: refusing to %s: a reboot would not keep it: %s%s", h.e.Name(), what, c.boot.Problem, bootHint(c.boot)))
		}
		c.enable = c.boot.Enable
	}
	for _, f := range c.boot.Files {
		text, rs := h.bootRules(f)
		next, err := edit(f, text, rs)
		if err != nil {
			h.e.Fail(fmt.Errorf("%s: firewall: %s, which boot loads: %w", h.e.Name(), f.Path, err))
		}
		if next != text {
			c.writes = append(c.writes, bootWrite{file: f, old: text, text: next})
		}
	}
	return c
}

// onlyDisabled reports whether enabling the disabled units is all boot
// lacks.
func onlyDisabled(sys firewall.System, units map[string]firewall.Unit, ufw bool) bool {
	enabled := map[string]firewall.Unit{}
	for n, u := range units {
		u.Enabled = !u.Masked
		enabled[n] = u
	}
	return firewall.PlanBoot(sys, enabled, ufw).Problem == ""
}

// bootHint says what persist = true would do about a boot problem.
func bootHint(b firewall.Boot) string {
	if len(b.Enable) > 0 {
		return "; persist = true enables it"
	}
	return ""
}

// bootRules reads a boot file and the rules boot would load from it. An
// nft file is loaded into a scratch network namespace (unshare -n), where
// its includes and variables resolve as at boot and the host's own rules
// are not touched; an iptables-save file is read as it is. A missing
// iptables-save file loads nothing.
func (h *fwHost) bootRules(f firewall.BootFile) (string, *firewall.Ruleset) {
	name := h.e.Name()
	b, err := h.e.ReadFileCached(f.Path)
	if errors.Is(err, fs.ErrNotExist) && f.Format == firewall.FormatIptablesSave {
		return "", &firewall.Ruleset{}
	}
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: firewall: read %s, which boot loads: %w", name, f.Path, err))
	}
	if f.Format == firewall.FormatIptablesSave {
		rs, err := firewall.ReadIptablesSave(b, f.Family)
		if err != nil {
			h.e.Fail(fmt.Errorf("%s: firewall: %s, which boot loads: %w", name, f.Path, err))
		}
		return string(b), rs
	}
	out, err := h.e.QueryCached(nftScratchLoad(f.Path)...)
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("exit status %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
	}
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: firewall: cannot read the rules %s loads at boot (loaded in a scratch network namespace): %w", name, f.Path, err))
	}
	rs, err := firewall.ReadNft(out.Stdout)
	if err != nil {
		h.e.Fail(fmt.Errorf("%s: firewall: %s, which boot loads: %w", name, f.Path, err))
	}
	return string(b), rs
}

// nftScratchLoad loads an nft file into a new network namespace and lists
// what it made there.
func nftScratchLoad(file string) []string {
	return []string{"unshare", "-n", "sh", "-c", `nft -f "$1" >/dev/null && nft -j list ruleset`, "sh", file}
}

// applyBoot writes the boot files, each validated by loading it as boot
// would, and enables the units; then it reads boot's rules again and
// checks that each file needs no further edit. In check mode it reports
// each file's diff from the text it read, as sshd.move_port's phase 2
// does: an audit asks the host nothing more than it read already.
func (h *fwHost) applyBoot(c bootChange, edit bootEdit) {
	for _, w := range c.writes {
		if h.e.checking() {
			h.e.record(true, udiff.Unified(w.file.Path, w.file.Path, w.old, w.text),
				fmt.Sprintf("write %s, checked first with: %s", w.file.Path, shell.Join(bootValidator(w.file)...)))
			h.e.say(w.file.Path + ": remedy's rule kept for boot")
			continue
		}
		fw := change.File{Path: w.file.Path, Content: []byte(w.text), Backup: true, Validate: bootValidator(w.file)}
		if _, err := h.e.Apply(fw); err != nil {
			h.e.Fail(err)
		}
	}
	for _, u := range c.enable {
		h.apply(h.enableCommands(u))
		h.e.say(u.Name + " enabled at boot")
	}
	if h.e.checking() || len(c.writes) == 0 {
		return
	}
	for _, f := range c.boot.Files {
		text, rs := h.bootRules(f)
		if next, err := edit(f, text, rs); err != nil || next != text {
			h.e.Fail(fmt.Errorf("%s: firewall: %s was written, yet what boot loads from it still needs the change (%v)", h.e.Name(), f.Path, err))
		}
	}
}

// bootValidator loads a candidate boot file as boot would: an nft file in
// a scratch network namespace, an iptables-save file with --test.
func bootValidator(f firewall.BootFile) []string {
	if f.Format == firewall.FormatNft {
		return []string{"unshare", "-n", "nft", "-f", "%s"}
	}
	return []string{map[string]string{"ip": "iptables-restore", "ip6": "ip6tables-restore"}[f.Family], "--test", "%s"}
}

// enableCommands enable a unit at boot: systemctl where systemd runs,
// else the links systemctl would make.
func (h *fwHost) enableCommands(u firewall.Unit) [][]string {
	if h.e.Facts().Init == "systemd" {
		return [][]string{{"systemctl", "enable", u.Name}}
	}
	var cmds [][]string
	for _, l := range firewall.EnableLinks(u) {
		cmds = append(cmds, []string{"mkdir", "-p", path.Dir(l[0])}, []string{"ln", "-sfn", l[1], l[0]})
	}
	return cmds
}
