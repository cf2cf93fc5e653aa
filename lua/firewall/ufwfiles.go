package firewall

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// UfwFiles is the state ufw keeps in files, as the firewall read takes it.
type UfwFiles struct {
	Defaults       []byte // /etc/default/ufw
	Rules4, Rules6 []byte // the "### tuple ###" lines of user.rules and user6.rules
	Forwarding     bool   // the kernel forwards IPv4 or IPv6
}

// ufwTuple is one "### tuple ###" line: a rule as ufw stores it.
type ufwTuple struct {
	action, proto, dport, dst, sport, src string
	dapp, sapp                            string
	direction, ifIn, ifOut                string
	forward, v6                           bool
	comment                               string
}

// StatusFromFiles is what `ufw status verbose` shows for these files: its
// defaults and its rules, in its order and words, without starting ufw's
// Python. It follows ufw 0.36's backend_iptables.get_status.
func StatusFromFiles(f UfwFiles) (UfwStatus, error) {
	def := keyValues(f.Defaults)
	if def["DEFAULT_INPUT_POLICY"] == "" {
		return UfwStatus{}, fmt.Errorf("ufw defaults: no DEFAULT_INPUT_POLICY")
	}
	routed := ufwPolicy(def["DEFAULT_FORWARD_POLICY"])
	if !f.Forwarding {
		routed = "disabled"
	}
	s := UfwStatus{Defaults: fmt.Sprintf("%s (incoming), %s (outgoing), %s (routed)",
		ufwPolicy(def["DEFAULT_INPUT_POLICY"]), ufwPolicy(def["DEFAULT_OUTPUT_POLICY"]), routed)}
	tuples := readTuples(f.Rules4, false)
	if strings.EqualFold(def["IPV6"], "yes") {
		tuples = append(tuples, readTuples(f.Rules6, true)...)
	}
	// Incoming rules first, then outgoing, then routed, as ufw prints them.
	for _, section := range []func(ufwTuple) bool{
		func(t ufwTuple) bool { return !t.forward && t.direction != "out" },
		func(t ufwTuple) bool { return !t.forward && t.direction == "out" },
		func(t ufwTuple) bool { return t.forward },
	} {
		for _, t := range tuples {
			if section(t) {
				s.Rules = append(s.Rules, t.rule())
			}
		}
	}
	return s, nil
}

// keyValues reads shell-style KEY="value" lines.
func keyValues(b []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && !strings.HasPrefix(k, "#") {
			m[k] = strings.Trim(v, `"'`)
		}
	}
	return m
}

func ufwPolicy(p string) string {
	switch strings.ToLower(p) {
	case "accept":
		return "allow"
	case "reject":
		return "reject"
	}
	return "deny"
}

// readTuples reads ufw's tuple lines as its _read_rules does, skipping
// the malformed ones it skips.
func readTuples(b []byte, v6 bool) []ufwTuple {
	var ts []ufwTuple
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "### tuple ###")
		if !ok {
			continue
		}
		rest, comment, _ := strings.Cut(rest, " comment=")
		if t, ok := parseTuple(strings.Fields(rest)); ok {
			t.comment, t.v6 = decodeComment(strings.TrimSpace(comment)), v6
			ts = append(ts, t)
		}
	}
	return ts
}

func parseTuple(f []string) (ufwTuple, bool) {
	if len(f) < 6 || len(f) > 9 {
		return ufwTuple{}, false
	}
	t := ufwTuple{proto: f[1], dport: f[2], dst: f[3], sport: f[4], src: f[5], direction: "in"}
	action := f[0]
	if _, a, ok := strings.Cut(action, ":"); ok {
		t.forward, action = true, a
	}
	// A logging suffix (allow_log) only adds "(log)" after the columns.
	t.action, _, _ = strings.Cut(strings.ToLower(action), "_")
	if t.action != "allow" && t.action != "reject" && t.action != "limit" {
		t.action = "deny"
	}
	if len(f) >= 8 {
		t.dapp, t.sapp = appName(f[6]), appName(f[7])
	}
	if len(f) == 7 || len(f) == 9 {
		if !t.interfaces(f[len(f)-1]) {
			return ufwTuple{}, false
		}
	}
	return t, true
}

func appName(s string) string {
	if s == "-" {
		return ""
	}
	return strings.ReplaceAll(s, "%20", " ")
}

// interfaces reads the last field: "in", "out", "in_eth0", "out_eth0" or
// "in_eth0!out_eth1".
func (t *ufwTuple) interfaces(s string) bool {
	t.direction, _, _ = strings.Cut(s, "_")
	if !strings.Contains(s, "_") {
		return true
	}
	in, out, both := strings.Cut(s, "!")
	switch {
	case both && strings.HasPrefix(in, "in_") && strings.HasPrefix(out, "out_"):
		t.ifIn, t.ifOut = in[3:], out[4:]
	case strings.HasPrefix(s, "in_"):
		t.ifIn = s[3:]
	case strings.HasPrefix(s, "out_"):
		t.ifOut = s[4:]
	default:
		return false
	}
	return true
}

func decodeComment(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		return ""
	}
	return string(b)
}

func isAnyAddr(a string) bool { return a == "0.0.0.0/0" || a == "::/0" }

// rule renders the tuple as a row of `ufw status verbose`.
func (t ufwTuple) rule() UfwRule {
	r := UfwRule{To: t.location(t.dst, t.dport, t.dapp), From: t.location(t.src, t.sport, t.sapp), Comment: t.comment}
	inIf, outIf := t.ifIn, t.ifOut
	if !t.forward {
		// Relative to the host as endpoint: the incoming interface under
		// To, the outgoing one under From.
		inIf, outIf = t.ifOut, t.ifIn
	}
	if inIf != "" {
		r.From += " on " + inIf
	}
	if outIf != "" {
		r.To += " on " + outIf
	}
	dir := strings.ToUpper(t.direction)
	if t.forward {
		dir = "FWD"
	}
	r.Action = strings.ToUpper(t.action) + " " + dir
	return r
}

// location is one side of a rule (address, port, application) as ufw
// status verbose words it.
func (t ufwTuple) location(addr, port, app string) string {
	loc := ""
	if !isAnyAddr(addr) {
		loc = addr
	}
	if port == "any" {
		if isAnyAddr(addr) {
			loc = "Anywhere"
			if t.proto != "any" && t.dst == t.src && t.dport == t.sport {
				loc += "/" + t.proto
			}
			if addr == "::/0" {
				loc += " (v6)"
			}
		} else if t.proto != "any" && t.dport == t.sport {
			loc += "/" + t.proto
		}
		return loc
	}
	loc = strings.TrimSpace(loc + " " + port)
	if t.proto != "any" {
		loc += "/" + t.proto
	}
	if app != "" {
		loc += " (" + app
		if t.v6 && addr == "::/0" {
			loc += " (v6)"
		}
		loc += ")"
	}
	if t.v6 && t.src == "::/0" && t.dst == "::/0" && !strings.Contains(loc, " (v6)") {
		loc += " (v6)"
	}
	return loc
}
