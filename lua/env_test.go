package lua

import (
	"context"
	"strings"
	"testing"
)

func TestQueryCachedUntilAnotherCommandRuns(t *testing.T) {
	h := newLocalHost(t)
	e := &Env{host: h, ctx: context.Background(), task: &taskRecord{}}
	// Each real run appends a line, so the count tells how often it ran.
	count := func() string {
		t.Helper()
		out, err := e.QueryCached("sh", "-c", "echo . >> runs; wc -l < runs")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out.Stdout))
	}
	if got := count(); got != "1" {
		t.Fatalf("first read: ran %s times", got)
	}
	if got := count(); got != "1" {
		t.Fatalf("repeated read ran again: %s runs", got)
	}
	if _, err := e.Query("true"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "1" {
		t.Fatalf("another read ran it again: %s runs", got)
	}
	if _, err := e.exec("true", nil); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "2" {
		t.Fatalf("read after a command that may change the host: %s runs, want a fresh run", got)
	}
	e.task.check = true
	if _, err := e.Apply("touch", "changed"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "2" {
		t.Fatalf("an Apply in check mode runs nothing, so the read stays: %s runs", got)
	}
}
