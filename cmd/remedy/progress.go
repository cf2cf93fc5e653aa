package main

import (
	"remedy/runner"
	"remedy/runner/recap"
)

// holdProgress keeps the live progress line off the terminal while the
// run asks a key's passphrase (on the first host that needs the key):
// redrawn every second, it would wipe the question from the screen.
func holdProgress(obs recap.Observer, creds *runner.Credentials) {
	h, ok := obs.(interface{ Hold() (release func()) })
	if !ok || creds == nil || creds.Prompt == nil {
		return
	}
	ask := creds.Prompt
	creds.Prompt = func(question string) (string, error) {
		release := h.Hold()
		defer release()
		return ask(question)
	}
}
