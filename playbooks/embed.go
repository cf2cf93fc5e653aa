// Package playbooks holds remedy's built-in playbooks and the site-policy
// examples, embedded in the binary so `remedy run aspera-server` needs no
// files on the controller.
package playbooks

import "embed"

// FS holds the built-in playbooks (NAME.lua) and examples/NAME.lua.
// The pattern takes the whole directory because a pattern that matched no
// file would not compile, and built-ins arrive with their own issues; Go
// files in it are never resolved as playbooks.
//
//go:embed *
var FS embed.FS
