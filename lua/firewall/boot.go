package firewall

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// UnitDirs are the directories systemd loads system units from, the one
// that wins first. /lib/systemd/system is /usr/lib/systemd/system on a
// merged-/usr system, and Debian's packages still ship there.
var UnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system"}

// UnitFile is one file of a systemd unit: the unit file or a drop-in.
type UnitFile struct {
	Path, Text string
}

// Unit is a systemd unit as boot would start it.
type Unit struct {
	Name      string
	Path      string // the unit file in effect; "" when it is not installed
	Masked    bool
	Enabled   bool       // boot starts it
	ExecStart [][]string // each ExecStart= command in effect, as argv
	WantedBy  []string   // [Install] WantedBy=: where enabling links it
	Problem   string     // what in its ExecStart= remedy cannot read
}

// SplitUnitFiles splits `systemctl cat UNIT` output, and the same format
// remedy prints where systemd does not run, into the unit's files: each
// starts at a "# PATH" line naming the unit file or one of its drop-ins.
func SplitUnitFiles(name, out string) []UnitFile {
	var files []UnitFile
	for _, line := range strings.SplitAfter(out, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "# "); ok && isUnitPath(name, p) {
			files = append(files, UnitFile{Path: p})
			continue
		}
		if len(files) > 0 {
			files[len(files)-1].Text += line
		}
	}
	return files
}

// ShowProperties are the properties of `systemctl show -p` that
// ParseShow reads.
const ShowProperties = "Id,LoadState,UnitFileState,FragmentPath,DropInPaths"

// Shown is what `systemctl show` says of a unit.
type Shown struct {
	Load  string   // LoadState: loaded, not-found, masked, ...
	State string   // UnitFileState: what systemctl is-enabled says
	Files []string // FragmentPath, then DropInPaths: the files `systemctl cat` prints
}

// ParseShow reads `systemctl show -p ShowProperties NAME...`: a block of
// PROPERTY=value lines per unit asked, in the order asked, a blank line
// between blocks, a unit that is not installed included (LoadState
// not-found). Blocks go by their order, not their Id=, which names the
// unit an alias stands for.
func ParseShow(names []string, out string) (map[string]Shown, error) {
	if strings.TrimSpace(out) == "" {
		return nil, fmt.Errorf("systemctl show printed nothing")
	}
	var blocks []map[string]string
	for _, b := range strings.Split(strings.TrimSpace(out), "\n\n") {
		props := map[string]string{}
		for _, line := range strings.Split(b, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				props[k] = v
			}
		}
		if props["Id"] == "" {
			return nil, fmt.Errorf("systemctl show: a block without Id=: %q", b)
		}
		blocks = append(blocks, props)
	}
	if len(blocks) != len(names) {
		return nil, fmt.Errorf("systemctl show: %d units asked, %d answered", len(names), len(blocks))
	}
	shown := map[string]Shown{}
	for i, n := range names {
		p := blocks[i]
		sh := Shown{Load: p["LoadState"], State: p["UnitFileState"]}
		if f := p["FragmentPath"]; f != "" {
			sh.Files = append(sh.Files, f)
		}
		sh.Files = append(sh.Files, strings.Fields(p["DropInPaths"])...)
		shown[n] = sh
	}
	return shown, nil
}

// ShownFiles are a unit's files as SplitUnitFiles would find them in
// `systemctl cat`'s output: those of sh.Files whose text is given (by
// path), in UnitDirs.
func ShownFiles(name string, sh Shown, text map[string]string) []UnitFile {
	var files []UnitFile
	for _, p := range sh.Files {
		if t, ok := text[p]; ok && isUnitPath(name, p) {
			files = append(files, UnitFile{Path: p, Text: t})
		}
	}
	return files
}

// isUnitPath reports whether p is name's unit file or a drop-in of it in
// one of UnitDirs.
func isUnitPath(name, p string) bool {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	if slices.Contains(UnitDirs, dir) {
		return base == name
	}
	return strings.HasSuffix(base, ".conf") && path.Base(dir) == name+".d" && slices.Contains(UnitDirs, path.Dir(dir))
}

// ReadUnit makes the unit boot would start from its files, in any order:
// the unit file of the first of UnitDirs that has one, then its drop-ins
// in file-name order, a name in an earlier directory hiding the same name
// in a later one, as systemd reads them. A unit file that is empty (a
// link to /dev/null) masks the unit. enabled says whether boot starts it.
func ReadUnit(name string, files []UnitFile, enabled bool) Unit {
	u := Unit{Name: name, Enabled: enabled}
	rank := func(p string) int {
		for i, d := range UnitDirs {
			if strings.HasPrefix(p, d+"/") {
				return i
			}
		}
		return len(UnitDirs)
	}
	var main *UnitFile
	dropIns := map[string]UnitFile{}
	for i, f := range files {
		if path.Base(f.Path) == name {
			if main == nil || rank(f.Path) < rank(main.Path) {
				main = &files[i]
			}
			continue
		}
		if d, ok := dropIns[path.Base(f.Path)]; !ok || rank(f.Path) < rank(d.Path) {
			dropIns[path.Base(f.Path)] = f
		}
	}
	if main == nil {
		return u
	}
	u.Path = main.Path
	if strings.TrimSpace(main.Text) == "" {
		u.Masked, u.Enabled = true, false
		return u
	}
	u.apply(main.Text)
	names := make([]string, 0, len(dropIns))
	for n := range dropIns {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		u.apply(dropIns[n].Text)
	}
	return u
}

// apply reads one file of the unit: its ExecStart= lines (an empty one
// clears the list, as systemd does) and WantedBy=.
func (u *Unit) apply(text string) {
	section := ""
	for _, line := range unitLines(text) {
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			switch {
			case section == "[Service]" && key == "ExecStart" && value == "":
				u.ExecStart, u.Problem = nil, ""
			case section == "[Service]" && key == "ExecStart":
				argv, err := execArgv(value)
				if err != nil {
					u.Problem = fmt.Sprintf("ExecStart=%s: %v", value, err)
					continue
				}
				u.ExecStart = append(u.ExecStart, argv)
			case section == "[Install]" && key == "WantedBy":
				u.WantedBy = append(u.WantedBy, strings.Fields(value)...)
			}
		}
	}
}

// unitLines joins continued lines (a trailing backslash) and trims them.
func unitLines(text string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutSuffix(line, `\`); ok && !strings.HasPrefix(line, "#") {
			cur += c + " "
			continue
		}
		out = append(out, cur+line)
		cur = ""
	}
	return out
}

// execArgv splits an Exec line as systemd does: its prefixes (@-:+!) are
// dropped, words are split at blanks and may be quoted. A line that needs
// systemd to expand it (a $VARIABLE or a %specifier) or that is more than
// one command cannot be read here.
func execArgv(value string) ([]string, error) {
	value = strings.TrimLeft(value, "@-:+!")
	var argv []string
	var word strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, inWord = c, true
		case c == '\\' && i+1 < len(value):
			i++
			word.WriteByte(value[i])
			inWord = true
		case quote == 0 && (c == ' ' || c == '\t'):
			if inWord {
				argv, inWord = append(argv, word.String()), false
				word.Reset()
			}
		case c == '$' || c == '%':
			return nil, fmt.Errorf("%q needs systemd to expand it", value[i:])
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		argv = append(argv, word.String())
	}
	if slices.Contains(argv, ";") {
		return nil, fmt.Errorf("more than one command")
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	return argv, nil
}

// BootFile is a file of rules boot loads.
type BootFile struct {
	Path   string
	Format string // "nft" (an nft -f script), "iptables-save" or "ipset"
	Family string // iptables-save: "ip" or "ip6"
}

// DefaultBootFiles are the files the distributions' units load unless a
// site changes them: Debian's and RHEL's.
var DefaultBootFiles = []BootFile{
	{"/etc/nftables.conf", FormatNft, ""}, {"/etc/sysconfig/nftables.conf", FormatNft, ""},
	{"/etc/iptables/rules.v4", FormatIptablesSave, "ip"}, {"/etc/iptables/rules.v6", FormatIptablesSave, "ip6"},
	{"/etc/sysconfig/iptables", FormatIptablesSave, "ip"}, {"/etc/sysconfig/ip6tables", FormatIptablesSave, "ip6"},
}

// The formats of a BootFile.
const (
	FormatNft          = "nft"
	FormatIptablesSave = "iptables-save"
	FormatIpset        = "ipset" // ipset save's, which ipset restore loads
)

// Boot is what a reboot loads for the backend that governs: the units
// that load it and the files they read. Problem says why a reboot would
// not carry a change remedy makes now; Enable lists the units that are
// installed but disabled, which enabling would mend.
type Boot struct {
	Units   []string
	Files   []BootFile
	Problem string
	Enable  []Unit
}

// KnownUnits are the units BootUnits and BootIpsets may name.
var KnownUnits = []string{"nftables.service", "netfilter-persistent.service", "iptables.service", "ip6tables.service",
	"firewalld.service", "ufw.service", "ipset.service"}

// PluginsDir holds netfilter-persistent's plugins: 10-ipset (the
// ipset-persistent package) loads the ipsets before 15-ip4tables and
// 25-ip6tables load the rules.
const PluginsDir = "/usr/share/netfilter-persistent/plugins.d"

// BootIpsets says which file boot loads ipsets from, before the iptables
// rules that name them, for an iptables backend: Debian's
// netfilter-persistent with its ipset plugin (plugins lists PluginsDir),
// RHEL's ipset.service. problem says why none would: the rules naming a
// set that does not exist fail to load, all of them.
func BootIpsets(sys System, units map[string]Unit, plugins []string) (f BootFile, problem string) {
	if sys.OSFamily == "redhat" {
		switch u := units["ipset.service"]; {
		case u.Path == "" || u.Masked:
			return BootFile{}, "ipset.service is not installed or is masked: nothing creates remedy's ipsets at boot, and the iptables rules naming them would not load"
		case !u.Enabled:
			return BootFile{}, "ipset.service is disabled: nothing creates remedy's ipsets at boot, and the iptables rules naming them would not load"
		}
		return BootFile{Path: "/etc/sysconfig/ipset", Format: FormatIpset}, ""
	}
	if !slices.Contains(plugins, "10-ipset") {
		return BootFile{}, "netfilter-persistent loads no ipsets at boot (its plugin comes with ipset-persistent), and the iptables rules naming remedy's would not load"
	}
	return BootFile{Path: "/etc/iptables/ipsets", Format: FormatIpset}, ""
}

// BootUnits names the units whose files PlanBoot reads for a backend and
// OS family.
func BootUnits(sys System) []string {
	switch backendKind(sys.Backend) {
	case Nftables:
		return []string{"nftables.service"}
	case IptablesLegacy:
		if sys.OSFamily == "redhat" {
			return []string{"iptables.service", "ip6tables.service"}
		}
		return []string{"netfilter-persistent.service"}
	case Firewalld:
		return []string{"firewalld.service"}
	case Ufw:
		return []string{"ufw.service"}
	}
	return nil
}

// PlanBoot says what a reboot loads for the backend that governs, from
// the units BootUnits names (read with ReadUnit). ufwEnabled is ENABLED=
// in /etc/ufw/ufw.conf. firewalld and ufw keep remedy's changes in their
// own configuration: their units need only start at boot.
func PlanBoot(sys System, units map[string]Unit, ufwEnabled bool) Boot {
	b := Boot{Units: BootUnits(sys)}
	for _, name := range b.Units {
		u := units[name]
		switch {
		case u.Path == "":
			b.Problem = fmt.Sprintf("%s is not installed: nothing remedy knows of loads %s rules at boot", name, sys.Backend)
		case u.Masked:
			b.Problem = fmt.Sprintf("%s is masked: a reboot loads no %s rules", name, sys.Backend)
		case u.Problem != "":
			b.Problem = fmt.Sprintf("%s: %s", name, u.Problem)
		case !u.Enabled:
			b.Enable = append(b.Enable, u)
		}
		if b.Problem != "" {
			return b
		}
		files, err := bootFiles(sys, u)
		if err != nil {
			b.Problem = fmt.Sprintf("%s: %v", name, err)
			return b
		}
		b.Files = append(b.Files, files...)
	}
	if len(b.Enable) > 0 {
		var names []string
		for _, u := range b.Enable {
			names = append(names, u.Name)
		}
		b.Problem = fmt.Sprintf("%s disabled: a reboot loads no %s rules", strings.Join(names, " and ")+map[bool]string{true: " is", false: " are"}[len(names) == 1], sys.Backend)
	}
	if backendKind(sys.Backend) == Ufw && b.Problem == "" && !ufwEnabled {
		b.Problem = "ufw is not enabled in /etc/ufw/ufw.conf (ENABLED=no): a reboot starts it inactive"
	}
	return b
}

// bootFiles reads from a unit's ExecStart= the files it loads.
func bootFiles(sys System, u Unit) ([]BootFile, error) {
	switch u.Name {
	case "nftables.service":
		return nftBootFiles(u.ExecStart)
	case "netfilter-persistent.service":
		// Its plugins load these fixed files (15-ip4tables, 25-ip6tables).
		if !startsWith(u.ExecStart, "netfilter-persistent") {
			return nil, fmt.Errorf("runs %s, not netfilter-persistent: remedy cannot tell what it loads", execList(u.ExecStart))
		}
		return []BootFile{{"/etc/iptables/rules.v4", FormatIptablesSave, "ip"}, {"/etc/iptables/rules.v6", FormatIptablesSave, "ip6"}}, nil
	case "iptables.service", "ip6tables.service":
		// iptables-services' init script loads /etc/sysconfig/iptables
		// and ip6tables.
		bin := strings.TrimSuffix(u.Name, ".service")
		if !startsWith(u.ExecStart, bin+".init") {
			return nil, fmt.Errorf("runs %s, not %s.init: remedy cannot tell what it loads", execList(u.ExecStart), bin)
		}
		family := map[string]string{"iptables": "ip", "ip6tables": "ip6"}[bin]
		return []BootFile{{"/etc/sysconfig/" + bin, FormatIptablesSave, family}}, nil
	}
	return nil, nil
}

// nftBootFiles finds the files of `nft -f FILE` (or --file) commands.
func nftBootFiles(cmds [][]string) ([]BootFile, error) {
	var files []BootFile
	for _, argv := range cmds {
		if path.Base(argv[0]) != "nft" {
			return nil, fmt.Errorf("runs %s, not nft -f FILE: remedy cannot tell what it loads", strings.Join(argv, " "))
		}
		for i, a := range argv {
			f, ok := "", false
			switch {
			case (a == "-f" || a == "--file") && i+1 < len(argv):
				f, ok = argv[i+1], true
			case strings.HasPrefix(a, "--file="):
				f, ok = strings.TrimPrefix(a, "--file="), true
			}
			if ok && (f == "-" || !path.IsAbs(f)) {
				return nil, fmt.Errorf("nft loads %q, not a file by its absolute path", f)
			}
			if ok {
				files = append(files, BootFile{Path: f, Format: FormatNft})
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("runs %s: no nft -f FILE", execList(cmds))
	}
	return files, nil
}

func startsWith(cmds [][]string, bin string) bool {
	return len(cmds) == 1 && path.Base(cmds[0][0]) == bin
}

func execList(cmds [][]string) string {
	if len(cmds) == 0 {
		return "nothing"
	}
	var s []string
	for _, c := range cmds {
		s = append(s, strings.Join(c, " "))
	}
	return strings.Join(s, "; ")
}

// EnableLinks are the links `systemctl enable` makes for u, for a host
// where systemd does not run: each target of WantedBy= wants the unit.
func EnableLinks(u Unit) [][2]string {
	var links [][2]string
	for _, target := range u.WantedBy {
		links = append(links, [2]string{"/etc/systemd/system/" + target + ".wants/" + u.Name, u.Path})
	}
	return links
}
