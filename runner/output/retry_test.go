package output

import (
	"strings"
	"testing"

	"remedy/runner/recap"
)

func TestRetry(t *testing.T) {
	cases := []struct {
		name  string
		hosts []recap.HostReport
		want  string
	}{
		{"none failed", []recap.HostReport{{Host: "a", Stats: recap.Stats{OK: 2, Changed: 1}}}, ""},
		{"ignored failures only", []recap.HostReport{{Host: "a", Stats: recap.Stats{OK: 1, Ignored: 1}}}, ""},
		{"failed and unreachable, sorted", []recap.HostReport{
			{Host: "web2", Stats: recap.Stats{Failed: 1}},
			{Host: "ok1", Stats: recap.Stats{OK: 3}},
			{Host: "down1", Unreachable: true},
			{Host: "app1", Stats: recap.Stats{Unreachable: 1}},
		}, "app1\ndown1\nweb2\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteRetry(&b, recap.Recap{Hosts: c.hosts}); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("retry file = %q, want %q", b.String(), c.want)
			}
		})
	}
}
