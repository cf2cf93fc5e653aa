package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"

	"remedy/lua"
	"remedy/runner/recap"
)

// provenance is what reports say made the run: remedy's version, the
// operator, the command line with secrets masked, the inputs.
func provenance(pb *lua.Playbook, f *runFlags, args []string) recap.Provenance {
	v, c := buildVersion()
	host, _ := os.Hostname()
	return recap.Provenance{
		Version: v, Commit: c,
		Operator:       localUser() + "@" + host,
		CommandLine:    maskArgs(args),
		Inventories:    f.inventories,
		Limit:          f.limit,
		PlaybookSHA256: pb.SHA256(),
		ChangeID:       f.changeID,
		Shard:          f.shard,
	}
}

// secretKey is a variable whose value a report must not show: Ansible's
// ansible_password, ansible_become_pass and the like, and any
// *_secret, *_token or *_key.
var secretKey = regexp.MustCompile(`(?i)(_pass|_password|_secret|_token|_key)$`)

const masked = "********"

// maskArgs is the command line with the values of secret -e keys masked,
// in whichever form -e was given. -k and -K are asked at a prompt and
// --become-password-file names a file: no secret of theirs is on it.
func maskArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "-e" || a == "--extra-vars":
			if i+1 < len(out) {
				i++
				out[i] = maskExtraVars(out[i])
			}
		case strings.HasPrefix(a, "--extra-vars="):
			out[i] = "--extra-vars=" + maskExtraVars(strings.TrimPrefix(a, "--extra-vars="))
		case strings.HasPrefix(a, "-e") && !strings.HasPrefix(a, "--"):
			out[i] = "-e" + maskExtraVars(strings.TrimPrefix(a, "-e"))
		}
	}
	return out
}

// maskExtraVars masks one -e value: key=value words or a YAML or JSON
// mapping; @FILE stays, only its name is on the command line. A value
// that does not parse is masked whole: it would be refused anyway.
func maskExtraVars(v string) string {
	if v == "" || v[0] == '@' {
		return v
	}
	if v[0] == '{' || v[0] == '[' {
		vars, err := parseExtraVars([]string{v})
		if err != nil {
			return masked
		}
		maskSecrets(vars)
		b, err := json.Marshal(vars)
		if err != nil {
			return masked
		}
		return string(b)
	}
	words, err := splitArgs(v)
	if err != nil {
		return masked
	}
	for i, w := range words {
		if eq := keyValueSplit(w); eq > 0 && secretKey.MatchString(strings.TrimSpace(w[:eq])) {
			words[i] = w[:eq+1] + masked
		}
	}
	return strings.Join(words, " ")
}

// maskSecrets masks secret keys' values in vars, nested mappings too.
func maskSecrets(vars map[string]any) {
	for k, v := range vars {
		if secretKey.MatchString(k) {
			vars[k] = masked
		} else if m, ok := v.(map[string]any); ok {
			maskSecrets(m)
		}
	}
}
