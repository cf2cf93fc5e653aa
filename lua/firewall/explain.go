package firewall

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Zone is a firewalld zone as `firewall-cmd --list-all` prints it.
type Zone struct {
	Name       string
	Active     bool
	Target     string
	Interfaces []string
	Sources    []string
	Services   []string
	Ports      []string
	RichRules  []string
}

// ReadFirewalldZone reads `firewall-cmd --list-all [--zone=Z]`. firewalld's
// verdicts come from its nftables rules; the zone says which service or
// port in it the rules came from.
func ReadFirewalldZone(out []byte) (Zone, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	name, active := strings.CutSuffix(strings.TrimSpace(lines[0]), " (active)")
	if name == "" || strings.HasPrefix(lines[0], " ") {
		return Zone{}, fmt.Errorf("firewall-cmd --list-all: no zone name on the first line")
	}
	z := Zone{Name: name, Active: active}
	fields := map[string]*[]string{"interfaces": &z.Interfaces, "sources": &z.Sources,
		"services": &z.Services, "ports": &z.Ports}
	for i := 1; i < len(lines); i++ {
		key, val, ok := strings.Cut(strings.TrimSpace(lines[i]), ":")
		switch {
		case !ok:
			return Zone{}, fmt.Errorf("firewall-cmd --list-all line %d: %q is not key: value", i+1, lines[i])
		case key == "target":
			z.Target = strings.TrimSpace(val)
		case key == "rich rules":
			for ; i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t"); i++ {
				z.RichRules = append(z.RichRules, strings.TrimSpace(lines[i+1]))
			}
		case fields[key] != nil:
			*fields[key] = strings.Fields(val)
		}
	}
	return z, nil
}

// ReadFirewalldZoneSettings reads the zone's runtime settings as
// `dbus-send --print-reply` prints firewalld's getZoneSettings2 reply: the
// same Zone as firewall-cmd --list-all gives, without starting Python.
func ReadFirewalldZoneSettings(name string, out []byte) (Zone, error) {
	lines := strings.Split(string(out), "\n")
	if !strings.HasPrefix(lines[0], "method return ") {
		return Zone{}, fmt.Errorf("getZoneSettings2: not a D-Bus method return: %q", lines[0])
	}
	z := Zone{Name: name}
	fields := map[string]*[]string{"interfaces": &z.Interfaces, "sources": &z.Sources,
		"services": &z.Services, "ports": &z.Ports, "rules_str": &z.RichRules}
	var key string
	var list, group []string
	inArray, inStruct := false, false
	for _, raw := range lines[1:] {
		l := strings.TrimSpace(raw)
		str, isStr := strings.CutPrefix(l, `string "`)
		str = strings.TrimSuffix(str, `"`)
		switch {
		case l == "dict entry(":
			key = ""
		case key == "" && isStr:
			key = str
		case strings.HasPrefix(l, "variant "):
			v := strings.TrimSpace(strings.TrimPrefix(l, "variant "))
			if v == "array [" {
				inArray, list = true, []string{}
			} else if key == "target" {
				z.Target = strings.Trim(strings.TrimPrefix(v, "string "), `"`)
			}
		case inArray && l == "struct {":
			inStruct, group = true, nil
		case inStruct && l == "}":
			inStruct, list = false, append(list, strings.Join(group, "/"))
		case inStruct && isStr:
			group = append(group, str)
		case inArray && isStr:
			list = append(list, str)
		case inArray && l == "]":
			inArray = false
			if f := fields[key]; f != nil {
				*f = list
			}
		}
	}
	if z.Target == "" {
		return Zone{}, fmt.Errorf("getZoneSettings2 %s: no target in the reply", name)
	}
	// firewall-cmd lists services sorted.
	slices.Sort(z.Services)
	z.Active = len(z.Interfaces)+len(z.Sources) > 0
	return z, nil
}

var zoneChain = regexp.MustCompile(`^inet firewalld filter_IN_(.+?)(_pre|_log|_deny|_allow|_post)?$`)

// ExplainFirewalld says which zone decided r and what that zone lets in.
func ExplainFirewalld(r Result, z Zone) string {
	m := zoneChain.FindStringSubmatch(r.Chain)
	if m == nil || m[1] != z.Name {
		return ""
	}
	return fmt.Sprintf("firewalld zone %s (target %s) lets in services [%s] and ports [%s]%s",
		z.Name, z.Target, strings.Join(z.Services, " "), strings.Join(z.Ports, " "), richNote(z))
}

func richNote(z Zone) string {
	if len(z.RichRules) == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d rich rules", len(z.RichRules))
}

// UfwStatus is `ufw status verbose`.
type UfwStatus struct {
	Active   bool
	Defaults string // "deny (incoming), allow (outgoing), disabled (routed)"
	Rules    []UfwRule
}

// UfwRule is one line of ufw's rule table.
type UfwRule struct {
	To, Action, From, Comment string
}

var columns = regexp.MustCompile(`\s{2,}`)

// ReadUfwStatus reads `ufw status verbose`; ufw's rules live in iptables,
// which the verdicts read, and this says which ufw rule they came from.
func ReadUfwStatus(out []byte) UfwStatus {
	var s UfwStatus
	table := false
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Status: "):
			s.Active = strings.TrimPrefix(line, "Status: ") == "active"
		case strings.HasPrefix(line, "Default: "):
			s.Defaults = strings.TrimPrefix(line, "Default: ")
		case strings.HasPrefix(line, "--"):
			table = true
		case table && strings.TrimSpace(line) != "":
			s.Rules = append(s.Rules, ufwRule(line))
		}
	}
	return s
}

// ufwAction finds the Action column: ufw pads To to 26 characters, so a
// longer To (an address, a port and an interface) leaves one space before
// it, and splitting on runs of spaces would miss it.
var ufwAction = regexp.MustCompile(`^(.*?)\s+((?:ALLOW|DENY|REJECT|LIMIT)(?: (?:IN|OUT|FWD))?)(?:\s+|$)(.*)$`)

func ufwRule(line string) UfwRule {
	line, comment, _ := strings.Cut(line, "# ")
	line = strings.TrimSpace(line)
	if m := ufwAction.FindStringSubmatch(line); m != nil {
		from, _, _ := strings.Cut(m[3], "  ")
		return UfwRule{To: m[1], Action: m[2], From: strings.TrimSpace(from), Comment: strings.TrimSpace(comment)}
	}
	c := columns.Split(line, -1)
	for len(c) < 3 {
		c = append(c, "")
	}
	return UfwRule{To: c[0], Action: c[1], From: c[2], Comment: strings.TrimSpace(comment)}
}

// ExplainUfw names ufw's defaults and the ufw rules that cover the probe.
func ExplainUfw(p Packet, s UfwStatus) string {
	var hits []string
	for _, r := range s.Rules {
		if r.covers(p) {
			hits = append(hits, strings.TrimSpace(strings.Join([]string{r.To, r.Action, r.From, r.Comment}, " ")))
		}
	}
	text := "ufw default " + s.Defaults
	if len(hits) > 0 {
		text += "; ufw rules for it: " + strings.Join(hits, "; ")
	}
	return text
}

// covers reports whether the rule's port spec ("22/tcp", "33001:33010/udp",
// "198.18.0.5 443/tcp") names the probe's port and protocol.
func (r UfwRule) covers(p Packet) bool {
	dirOut := strings.HasSuffix(r.Action, " OUT")
	if dirOut != (p.Dir == "out") {
		return false
	}
	for _, f := range strings.Fields(r.To) {
		spec, proto, ok := strings.Cut(f, "/")
		if ok && proto != p.Proto {
			continue
		}
		lo, hi, _ := strings.Cut(spec, ":")
		if hi == "" {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && p.Port >= l && p.Port <= h {
			return true
		}
	}
	return false
}
