package lua

import (
	"fmt"
	"slices"
)

// Tags with a meaning of their own, as in Ansible: "always" runs unless
// skipped by name, "never" only when asked for by name, and "all",
// "tagged" and "untagged" select by whether a task has tags at all.
const (
	tagAlways   = "always"
	tagNever    = "never"
	tagAll      = "all"
	tagTagged   = "tagged"
	tagUntagged = "untagged"
)

// Select says which of tasks run under --tags, --skip-tags and
// --start-at-task. It is an error when startAt names no task.
func Select(tasks []TaskInfo, tags, skip []string, startAt string) ([]bool, error) {
	selected := make([]bool, len(tasks))
	started := startAt == ""
	for i, t := range tasks {
		if !started && t.Name == startAt {
			started = true
		}
		selected[i] = started && tagsSelect(t.Tags, tags, skip)
	}
	if !started {
		return nil, fmt.Errorf("--start-at-task %q: no task has that name", startAt)
	}
	return selected, nil
}

// tagsSelect applies --tags (only) and --skip-tags (skip) to one task's tags.
func tagsSelect(has, only, skip []string) bool {
	if matchesTags(has, skip, true) {
		return false
	}
	if slices.Contains(has, tagAlways) {
		return true
	}
	if len(only) == 0 {
		return !slices.Contains(has, tagNever)
	}
	return matchesTags(has, only, false)
}

// matchesTags reports whether a task with tags has is picked by the list
// want. A "never" task is picked only by naming one of its tags, and only
// a skip list can name "always".
func matchesTags(has, want []string, skipping bool) bool {
	explicitOnly := !skipping && slices.Contains(has, tagNever)
	for _, w := range want {
		switch {
		case slices.Contains(has, w):
			return true
		case explicitOnly:
		case w == tagAll:
			return true
		case w == tagTagged && len(has) > 0:
			return true
		case w == tagUntagged && len(has) == 0:
			return true
		}
	}
	return false
}
