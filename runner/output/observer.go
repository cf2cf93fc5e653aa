// Package output renders a run for people and for machines: a live
// Ansible-like text stream with a PLAY RECAP, one JSON document, JUnit XML,
// an HTML or Markdown audit report, the retry file, and the exit code the
// results call for. Every format reads the same model, runner's Recap, and
// each lives in its own file; nothing here talks to a host, and none of it
// is ever given a host's variables, so no secret can reach an output.
package output

import (
	"io"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// Final is an observer for formats written once, when the run ends: it
// ignores the stream and hands the Recap to its render function.
type Final struct {
	w      io.Writer
	render func(io.Writer, recap.Recap) error
	err    error
}

// NewFinal returns an observer that calls render(w, recap) at the end of
// the run, e.g. NewFinal(os.Stdout, WriteJSON).
func NewFinal(w io.Writer, render func(io.Writer, recap.Recap) error) *Final {
	return &Final{w: w, render: render}
}

// Err is the render function's error, if any.
func (f *Final) Err() error { return f.err }

// Start, HostStarted, Command, Log, Result and HostDone are no-ops: everything
// is in the Recap.
func (f *Final) Start(recap.Play)          {}
func (f *Final) HostStarted(string)        {}
func (f *Final) Command(recap.Command)     {}
func (f *Final) Log(string, string)        {}
func (f *Final) Result(remote.Result)      {}
func (f *Final) HostDone(recap.HostReport) {}

// End renders the run.
func (f *Final) End(r recap.Recap) { f.err = f.render(f.w, r) }

// Tee sends every event to each observer in turn, e.g. the text stream on
// the terminal and an audit report into a file.
type Tee []recap.Observer

func (t Tee) Start(p recap.Play) {
	for _, o := range t {
		o.Start(p)
	}
}

func (t Tee) HostStarted(host string) {
	for _, o := range t {
		o.HostStarted(host)
	}
}

// HostConnecting is passed on to the observers that want it.
func (t Tee) HostConnecting(host string) {
	for _, o := range t {
		if c, ok := o.(recap.ConnectingObserver); ok {
			c.HostConnecting(host)
		}
	}
}

func (t Tee) Command(c recap.Command) {
	for _, o := range t {
		o.Command(c)
	}
}

func (t Tee) Log(host, msg string) {
	for _, o := range t {
		o.Log(host, msg)
	}
}

func (t Tee) Result(res remote.Result) {
	for _, o := range t {
		o.Result(res)
	}
}

func (t Tee) HostDone(h recap.HostReport) {
	for _, o := range t {
		o.HostDone(h)
	}
}

func (t Tee) End(r recap.Recap) {
	for _, o := range t {
		o.End(r)
	}
}
