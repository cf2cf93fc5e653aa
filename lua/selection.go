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
// want. Only a skip list names "always" to skip such tasks; "all" does not
// pick "never" tasks.
func matchesTags(has, want []string, skipping bool) bool {
	for _, w := range want {
		switch w {
		case tagAll:
			if skipping || !slices.Contains(has, tagNever) {
				return true
			}
		case tagTagged:
			if len(has) > 0 {
				return true
			}
		case tagUntagged:
			if len(has) == 0 {
				return true
			}
		default:
			if slices.Contains(has, w) {
				return true
			}
		}
	}
	return false
}
