// Package output renders a run for people and for machines: a live
// Ansible-like text stream with a PLAY RECAP, one JSON document, JUnit XML,
// an HTML or Markdown audit report, the retry file, and the exit code the
// results call for. Every format reads the same model, runner's Recap, and
// each lives in its own file; nothing here talks to a host, and none of it
// is ever given a host's variables, so no secret can reach an output.
package output

import (
	"io"

	"remedy/lua"
	"remedy/runner"
)

// Final is an observer for formats written once, when the run ends: it
// ignores the stream and hands the Recap to its render function.
type Final struct {
	w      io.Writer
	render func(io.Writer, runner.Recap) error
	err    error
}

// NewFinal returns an observer that calls render(w, recap) at the end of
// the run, e.g. NewFinal(os.Stdout, WriteJSON).
func NewFinal(w io.Writer, render func(io.Writer, runner.Recap) error) *Final {
	return &Final{w: w, render: render}
}

// Err is the render function's error, if any.
func (f *Final) Err() error { return f.err }

// Start, HostStarted, Command, Log, Result and HostDone are no-ops: everything
// is in the Recap.
func (f *Final) Start(runner.Play)          {}
func (f *Final) HostStarted(string)         {}
func (f *Final) Command(runner.Command)     {}
func (f *Final) Log(string, string)         {}
func (f *Final) Result(lua.Result)          {}
func (f *Final) HostDone(runner.HostReport) {}

// End renders the run.
func (f *Final) End(r runner.Recap) { f.err = f.render(f.w, r) }

// Tee sends every event to each observer in turn, e.g. the text stream on
// the terminal and an audit report into a file.
type Tee []runner.Observer

func (t Tee) Start(p runner.Play) {
	for _, o := range t {
		o.Start(p)
	}
}

func (t Tee) HostStarted(host string) {
	for _, o := range t {
		o.HostStarted(host)
	}
}

func (t Tee) Command(c runner.Command) {
	for _, o := range t {
		o.Command(c)
	}
}

func (t Tee) Log(host, msg string) {
	for _, o := range t {
		o.Log(host, msg)
	}
}

func (t Tee) Result(res lua.Result) {
	for _, o := range t {
		o.Result(res)
	}
}

func (t Tee) HostDone(h runner.HostReport) {
	for _, o := range t {
		o.HostDone(h)
	}
}

func (t Tee) End(r runner.Recap) {
	for _, o := range t {
		o.End(r)
	}
}
