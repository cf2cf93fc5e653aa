package output

import (
	"os"
	"strings"
	"testing"

	"remedy/runner/recap"
)

// TestRecapMatchesAnsible compares WriteRecap with the recap ansible-core
// 2.14 printed (ANSIBLE_NOCOLOR=1) for a play whose hosts ended with these
// counts: testdata/ansible-2.14-playbook.txt is that run's whole output.
func TestRecapMatchesAnsible(t *testing.T) {
	raw, err := os.ReadFile("testdata/ansible-2.14-playbook.txt")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(raw), "\nPLAY RECAP")
	if i < 0 {
		t.Fatal("no PLAY RECAP in the Ansible capture")
	}
	want := string(raw[i:])
	r := recap.Recap{Hosts: []recap.HostReport{
		{Host: "web1", Stats: recap.Stats{OK: 3, Changed: 2, Skipped: 2, Ignored: 1}},
		{Host: "down1", Stats: recap.Stats{Unreachable: 1}, Unreachable: true},
		{Host: "db-server-long-name.example", Stats: recap.Stats{OK: 4, Changed: 3, Failed: 1, Ignored: 1}},
	}}
	var got strings.Builder
	if err := WriteRecap(&got, r, false); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("recap differs from Ansible's:\n--- got\n%q\n--- want\n%q", got.String(), want)
	}
}

func TestRecapColour(t *testing.T) {
	var got strings.Builder
	if err := WriteRecap(&got, auditRecap(), true); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "recap-colour.txt", []byte(got.String()))
	plain := stripANSI(got.String())
	var uncoloured strings.Builder
	if err := WriteRecap(&uncoloured, auditRecap(), false); err != nil {
		t.Fatal(err)
	}
	if plain != uncoloured.String() {
		t.Errorf("colour changes the layout:\n%s\n%s", plain, uncoloured.String())
	}
}

func TestBanner(t *testing.T) {
	long := strings.Repeat("n", 100)
	cases := map[string]string{
		"PLAY RECAP": "PLAY RECAP " + strings.Repeat("*", 69),
		"TASK [x]":   "TASK [x] " + strings.Repeat("*", 71),
		long:         long + " ***",
	}
	for title, want := range cases {
		if got := banner(title); got != want {
			t.Errorf("banner(%q) = %q, want %q", title, got, want)
		}
	}
}
