package firewall

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"remedy/lua"
	"remedy/lua/change"
	"remedy/lua/firewall"
	"remedy/lua/remote"
	"remedy/lua/shell"
)

// bootUnitsScript prints, in parts (shell.PartsPrelude), what boot starts
// of the units named in its arguments. Where systemd runs (sd_booted:
// /run/systemd/system exists) it asks systemd once, `systemctl show` of
// them all ("show", firewall.ParseShow), then prints each file systemd
// loads them from ("file PATH"; a link to /dev/null, a masked unit, as
// an empty file): one systemctl, where a cat and an is-enabled per unit
// made fourteen. Elsewhere it reads the unit files and their .wants
// links, all there is on a host without systemd (a container, a lab
// host): for each unit its files in `systemctl cat`'s format ("unit
// NAME"), then whether boot starts it ("enabled NAME"). Then ufw's
// ENABLED=, and netfilter-persistent's plugins. The shell itself reads
// the files (small: cheaper than starting cat) and finds the links,
// ENABLED= and the plugins.
var bootUnitsScript = shell.PartsPrelude + `show() { while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done <"$1"; }
if [ -d /run/systemd/system ]; then
  s=$(systemctl show -p ` + firewall.ShowProperties + ` -- "$@" 2>/dev/null)
  part show; printf '%s\n' "$s"
  seen=" "
  while IFS= read -r l; do
    case $l in FragmentPath=?* | DropInPaths=?*)
      set -f
      for f in ${l#*=}; do
        case $seen in *" $f "*) continue ;; esac
        seen="$seen$f "
        if [ -c "$f" ]; then part "file $f"; elif [ -f "$f" ]; then part "file $f"; show "$f"; fi
      done
      set +f ;;
    esac
  done <<EOF
$s
EOF
else
  for u in "$@"; do
    part "unit $u"
    for d in ` + strings.Join(firewall.UnitDirs, " ") + `; do
      f="$d/$u"
      if [ -L "$f" ] && [ "$(readlink -f "$f")" = /dev/null ]; then echo "# $f"; continue; fi
      [ -f "$f" ] && { echo "# $f"; show "$f"; echo; }
      for c in "$d/$u.d"/*.conf; do [ -f "$c" ] && { echo "# $c"; show "$c"; echo; }; done
    done
    part "enabled $u"; s=disabled
    for l in /etc/systemd/system/*.wants/"$u" /etc/systemd/system/*.requires/"$u"; do [ -e "$l" ] || [ -h "$l" ] && s=enabled; done
    echo "$s"
  done
fi
part ufwconf; [ -r /etc/ufw/ufw.conf ] && while IFS= read -r l || [ -n "$l" ]; do case $l in ENABLED=*) printf '%s\n' "$l" ;; esac; done </etc/ufw/ufw.conf
part plugins; for l in ` + firewall.PluginsDir + `/*; do [ -e "$l" ] || [ -h "$l" ] && echo "${l##*/}"; done; exit 0`

// bootUnitsArgv reads every unit that may load a firewall at boot. It is
// the same on every host, so it rides along with the firewall's read.
var bootUnitsArgv = append([]string{"sh", "-c", bootUnitsScript, "sh"}, firewall.KnownUnits...)

// bootWarm are the reads of what boot loads that ride along with the
// firewall's read: the units, and the files the distributions' units
// load where a site has not changed them (their text, where they really
// are, and an nft file's rules), so an audit needs no session of its own
// for them.
func bootWarm() [][]string {
	reads := [][]string{bootUnitsArgv}
	for _, f := range firewall.DefaultBootFiles {
		reads = append(reads, lua.WriteReads(f.Path)...)
		if f.Format == firewall.FormatNft {
			reads = append(reads, nftBootLoad(f.Path))
		}
	}
	return reads
}

// startedAtBoot are the `systemctl is-enabled` states in which boot
// starts a unit, or may (static units start when another wants them).
var startedAtBoot = map[string]bool{"enabled": true, "enabled-runtime": true, "static": true, "generated": true, "alias": true}

// bootUnits is what boot starts: the units that may load a firewall,
// whether ufw.conf enables ufw, and netfilter-persistent's plugins.
type bootUnits struct {
	units   map[string]firewall.Unit
	ufw     bool
	plugins []string
}

// readBootUnits reads the units that may load a firewall at boot.
func readBootUnits(s change.Session) (bootUnits, error) {
	out, err := query(s, true, bootUnitsArgv...)
	if err != nil {
		return bootUnits{}, err
	}
	b, err := parseBootUnits(out)
	if err != nil {
		return bootUnits{}, fmt.Errorf("%s: read the units boot starts: %w", s.Name(), err)
	}
	return b, nil
}

// parseBootUnits reads bootUnitsArgv's output.
func parseBootUnits(out []byte) (bootUnits, error) {
	parts, err := shell.Parts(out)
	if err != nil {
		return bootUnits{}, err
	}
	b := bootUnits{units: map[string]firewall.Unit{}, ufw: bytes.Contains(parts["ufwconf"], []byte("ENABLED=yes")),
		plugins: strings.Fields(string(parts["plugins"]))}
	var shown map[string]firewall.Shown
	texts := map[string]string{}
	if show, ok := parts["show"]; ok {
		if shown, err = firewall.ParseShow(firewall.KnownUnits, string(show)); err != nil {
			return bootUnits{}, err
		}
		for name, text := range parts {
			if p, ok := strings.CutPrefix(name, "file "); ok {
				texts[p] = string(text)
			}
		}
	}
	for _, n := range firewall.KnownUnits {
		var files []firewall.UnitFile
		state, masked := strings.TrimSpace(string(parts["enabled "+n])), false
		if text, ok := parts["unit "+n]; ok {
			files = firewall.SplitUnitFiles(n, string(text))
		}
		if sh, ok := shown[n]; ok {
			files, state, masked = firewall.ShownFiles(n, sh, texts), sh.State, sh.Load == "masked"
		}
		u := firewall.ReadUnit(n, files, startedAtBoot[state])
		u.Masked = u.Masked || masked || strings.HasPrefix(state, "masked")
		b.units[n] = u
	}
	return b, nil
}

// bootChange is what it takes for what boot loads to carry a change:
// boot files to rewrite and units to enable.
type bootChange struct {
	boot   firewall.Boot
	files  []firewall.BootFile // the files planned, rewritten or not
	writes []bootWrite
	enable []firewall.Unit
}

// bootWrite is a boot file and its new text.
type bootWrite struct {
	file firewall.BootFile
	text string
}

func (c bootChange) empty() bool { return len(c.writes) == 0 && len(c.enable) == 0 }

// bootEdit gives a boot file's new text from its text and its rules.
type bootEdit func(f firewall.BootFile, text string, rs *firewall.Ruleset) (string, error)

// planBoot plans what makes boot carry a change: edit each boot file.
// When boot would carry nothing (no unit loads the rules, or it is
// disabled) it refuses before anything changes, naming why; persist lets
// it enable a unit that is installed but disabled instead.
func planBoot(s change.Session, sys firewall.System, what string, persist bool, edit bootEdit) (bootChange, error) {
	if sys.Backend == "none" {
		return bootChange{}, nil
	}
	bu, err := readBootUnits(s)
	if err != nil {
		return bootChange{}, err
	}
	c := bootChange{boot: firewall.PlanBoot(sys, bu.units, bu.ufw)}
	if c.boot.Problem != "" {
		if !persist || len(c.boot.Enable) == 0 || !onlyDisabled(sys, bu.units, bu.ufw) {
			return bootChange{}, fmt.Errorf("%s: firewall: refusing to %s: a reboot would not keep it: %s%s", s.Name(), what, c.boot.Problem, bootHint(c.boot))
		}
		c.enable = c.boot.Enable
	}
	return c, c.edit(s, c.boot.Files, edit)
}

// edit plans the edit of each file.
func (c *bootChange) edit(s change.Session, files []firewall.BootFile, edit bootEdit) error {
	for _, f := range files {
		c.files = append(c.files, f)
		text, rs, err := bootRules(s, f)
		if err != nil {
			return err
		}
		next, err := edit(f, text, rs)
		if err != nil {
			return fmt.Errorf("%s: firewall: %s, which boot loads: %w", s.Name(), f.Path, err)
		}
		if next != text {
			c.writes = append(c.writes, bootWrite{file: f, text: next})
		}
	}
	return nil
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
// are not touched; an iptables-save file is read as it is, an ipset file
// as text. A missing iptables-save or ipset file loads nothing.
func bootRules(s change.Session, f firewall.BootFile) (string, *firewall.Ruleset, error) {
	name := s.Name()
	b, err := s.ReadFileCached(f.Path)
	if errors.Is(err, fs.ErrNotExist) && f.Format != firewall.FormatNft {
		return "", &firewall.Ruleset{}, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: firewall: read %s, which boot loads: %w", name, f.Path, err)
	}
	if f.Format == firewall.FormatIpset {
		return string(b), &firewall.Ruleset{}, nil
	}
	if f.Format == firewall.FormatIptablesSave {
		rs, err := firewall.ReadIptablesSave(b, f.Family)
		if err != nil {
			return "", nil, fmt.Errorf("%s: firewall: %s, which boot loads: %w", name, f.Path, err)
		}
		return string(b), rs, nil
	}
	out, err := s.QueryCached(nftBootLoad(f.Path)...)
	if err == nil && out.ExitCode == notEnabled {
		out, err = s.QueryCached(nftScratchLoad(f.Path)...)
	}
	if err == nil && out.ExitCode != 0 {
		err = fmt.Errorf("exit status %d: %s", out.ExitCode, remote.Excerpt(out.Stderr))
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: firewall: cannot read the rules %s loads at boot (loaded in a scratch network namespace): %w", name, f.Path, err)
	}
	rs, err := firewall.ReadNft(out.Stdout)
	if err != nil {
		return "", nil, fmt.Errorf("%s: firewall: %s, which boot loads: %w", name, f.Path, err)
	}
	return string(b), rs, nil
}

// nftScratchLoad loads an nft file into a new network namespace and lists
// what it made there. A missing file makes no namespace: every host reads
// the distributions' default files (bootWarm's nftBootLoad), most of them
// missing, and a namespace with its two nft costs a host as much as sshd
// -T (7 ms of CPU on the lab, and the kernel's work to tear it down).
func nftScratchLoad(file string) []string {
	return []string{"sh", "-c", ifFile + "\n" + scratchLoad, "sh", file}
}

// The parts of nftScratchLoad and nftBootLoad: a missing file fails
// before anything starts; the file is loaded into a namespace of its own.
const (
	ifFile      = `[ -e "$1" ] || { printf '%s: no such file\n' "$1" >&2; exit 1; }`
	scratchLoad = `exec unshare -n sh -c 'nft -f "$1" >/dev/null && nft -j list ruleset' sh "$1"`
)

// notEnabled is nftBootLoad's exit status where no link enables
// nftables.service at boot: it loaded nothing.
const notEnabled = 67

// nftBootLoad is nftScratchLoad as the batch asks it of every host,
// before the facts say which firewall governs (bootWarm): only where a
// link in /etc/systemd/system enables nftables.service (what `systemctl
// enable` makes) does it load the file; elsewhere it exits notEnabled.
// Debian ships /etc/nftables.conf with the nftables package, so without
// this every host loaded it, whatever firewall governs: a namespace and
// two nft, as much as the rest of the firewall's read. Skipping it is
// safe: the rules of an nft boot file are wanted only from the files of
// nftables.service, on a host nftables governs (PlanBoot), and a host
// whose boot would load the file has the link, so the batch loads it;
// where the batch skipped it and the rules are wanted all the same
// (nftables governs, nftables.service is disabled and persist would
// enable it, or something other than such a link enables it), bootRules
// loads it with nftScratchLoad. The skip spares a read, never answers one.
func nftBootLoad(file string) []string {
	return []string{"sh", "-c", ifFile + `
for l in /etc/systemd/system/*.wants/nftables.service /etc/systemd/system/*.requires/nftables.service; do
  { [ -e "$l" ] || [ -h "$l" ]; } && ` + scratchLoad + `
done
exit ` + strconv.Itoa(notEnabled), "sh", file}
}

// applyBoot writes the boot files, each validated by loading it as boot
// would, and enables the units; then it reads boot's rules again and
// checks that each file needs no further edit.
func applyBoot(s change.Session, seq change.Sequence, c bootChange, edit bootEdit) error {
	for _, w := range c.writes {
		fw := change.File{Path: w.file.Path, Content: []byte(w.text), Backup: true, Validate: bootValidator(w.file)}
		if _, err := seq.Apply(fw, nil); err != nil {
			return err
		}
	}
	for _, u := range c.enable {
		cmds := enableCommands(s, u)
		for i, argv := range cmds {
			cmd := change.Command{Argv: argv}
			if i == len(cmds)-1 {
				cmd.Say = change.Say{Done: u.Name + " enabled at boot", Would: u.Name + " enabled at boot"}
			}
			if _, err := seq.Apply(cmd, nil); err != nil {
				return err
			}
		}
	}
	if len(c.writes) == 0 {
		return nil
	}
	_, err := seq.Apply(change.Step{Describe: "# read what boot loads again: it must need no further change", Run: func() error {
		for _, f := range c.files {
			text, rs, err := bootRules(s, f)
			if err != nil {
				return err
			}
			if next, err := edit(f, text, rs); err != nil || next != text {
				return fmt.Errorf("%s: firewall: %s was written, yet what boot loads from it still needs the change (%v)", s.Name(), f.Path, err)
			}
		}
		return nil
	}}, nil)
	return err
}

// bootValidator loads a candidate boot file as boot would: an nft file or
// an ipset file in a scratch network namespace, an iptables-save file
// with --test.
func bootValidator(f firewall.BootFile) []string {
	switch f.Format {
	case firewall.FormatNft:
		return []string{"unshare", "-n", "nft", "-f", "%s"}
	case firewall.FormatIpset:
		return []string{"unshare", "-n", "sh", "-c", `ipset restore < "$1"`, "sh", "%s"}
	}
	return []string{map[string]string{"ip": "iptables-restore", "ip6": "ip6tables-restore"}[f.Family], "--test", "%s"}
}

// enableCommands enable a unit at boot: systemctl where systemd runs,
// else the links systemctl would make.
func enableCommands(s change.Session, u firewall.Unit) [][]string {
	if s.Facts().Init == "systemd" {
		return [][]string{{"systemctl", "enable", u.Name}}
	}
	var cmds [][]string
	for _, l := range firewall.EnableLinks(u) {
		cmds = append(cmds, []string{"mkdir", "-p", path.Dir(l[0])}, []string{"ln", "-sfn", l[1], l[0]})
	}
	return cmds
}
