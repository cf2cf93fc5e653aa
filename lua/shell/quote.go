// Package shell builds the command lines remedy sends to managed hosts.
// Every remote command goes through Join, so no string from an inventory,
// a playbook or the command line reaches a shell unquoted.
package shell

import "strings"

// Quote returns s as one POSIX shell word that the shell reads back as
// exactly s. Single quotes protect everything but a single quote itself,
// which closes the quoting, adds an escaped quote and reopens it.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each argument and joins them with spaces into one command line.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// isSafe reports whether s needs no quoting: it holds only characters no
// POSIX shell treats specially in any position.
func isSafe(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("@%+=:,./-_", r):
		default:
			return false
		}
	}
	return true
}
