package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"remedy/lua"
	"remedy/runner/output"
)

// The listings ansible-playbook prints for --list-hosts, --list-tasks and
// --list-tags, in its layout; none contacts a host. remedy's playbook is
// one play, and its checks and handlers are listed after its tasks.

// selection is which tasks and checks -t, --skip-tags and --start-at-task
// keep, checked before any host is contacted: an unknown task name is bad
// input, not a failure on every host.
type selection struct {
	tasks, checks []lua.TaskInfo
}

func selectTasks(pb *lua.Playbook, f *runFlags) (selection, error) {
	var s selection
	keep, err := lua.Select(pb.Tasks(), f.tags, f.skipTags, f.startAt)
	if err != nil {
		return s, err
	}
	s.tasks = kept(pb.Tasks(), keep)
	// Checks run after every task whatever --start-at-task says: only tags
	// choose among them.
	keep, err = lua.Select(pb.Checks(), f.tags, f.skipTags, "")
	if err != nil {
		return s, err
	}
	s.checks = kept(pb.Checks(), keep)
	return s, nil
}

func kept(all []lua.TaskInfo, keep []bool) []lua.TaskInfo {
	var out []lua.TaskInfo
	for i, t := range all {
		if keep[i] {
			out = append(out, t)
		}
	}
	return out
}

func playHeader(w io.Writer, pb *lua.Playbook) {
	fmt.Fprintf(w, "\nplaybook: %s\n\n  play #1 (%s): %s\tTAGS: []\n", output.Visible(pb.File()),
		output.Visible(pb.HostPattern()), output.Visible(pb.Name()))
}

// listTasks is --list-tasks: the tasks and checks the tags select, and
// every handler (a handler runs when a selected task notifies it).
func listTasks(w io.Writer, pb *lua.Playbook, s selection) {
	playHeader(w, pb)
	for _, part := range []struct {
		title string
		items []lua.TaskInfo
	}{{"tasks", s.tasks}, {"checks", s.checks}, {"handlers", pb.Handlers()}} {
		if len(part.items) == 0 && part.title != "tasks" {
			continue
		}
		fmt.Fprintf(w, "    %s:\n", part.title)
		for _, t := range part.items {
			fmt.Fprintf(w, "      %s\tTAGS: [%s]\n", output.Visible(t.Name), output.Visible(strings.Join(t.Tags, ", ")))
		}
	}
}

// listTags is --list-tags: the tags of the tasks and checks selected.
func listTags(w io.Writer, pb *lua.Playbook, s selection) {
	playHeader(w, pb)
	fmt.Fprintf(w, "      TASK TAGS: [%s]\n", output.Visible(strings.Join(tagsOf(s.tasks), ", ")))
	if len(pb.Checks()) > 0 {
		fmt.Fprintf(w, "      CHECK TAGS: [%s]\n", output.Visible(strings.Join(tagsOf(s.checks), ", ")))
	}
}

func tagsOf(items []lua.TaskInfo) []string {
	var tags []string
	for _, t := range items {
		tags = append(tags, t.Tags...)
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// listHosts is --list-hosts: the hosts the playbook's pattern, -l and
// --shard select in the inventory, read and nothing more.
func listHosts(w io.Writer, pb *lua.Playbook, f *runFlags) error {
	_, hosts, err := selectHosts(pb, f)
	if err != nil {
		return badInput(err)
	}
	if hosts, err = inShard(hosts, f.shard); err != nil {
		return badInput(err)
	}
	playHeader(w, pb)
	fmt.Fprintf(w, "    pattern: ['%s']\n    hosts (%d):\n", output.Visible(pb.HostPattern()), len(hosts))
	for _, h := range hosts {
		fmt.Fprintf(w, "      %s\n", output.Visible(h.Name))
	}
	return nil
}

// syntaxCheck is --syntax-check: remedy lint on the playbook, and the
// playbook's name when it has no error, as ansible-playbook prints it.
func syntaxCheck(w io.Writer, path string, f *runFlags) error {
	if n := lintPlaybooks(w, []string{path}, f.luaPath); n > 0 {
		return badInput(fmt.Errorf("syntax check: %d error(s)", n))
	}
	fmt.Fprintf(w, "\nplaybook: %s\n", output.Visible(path))
	return nil
}
