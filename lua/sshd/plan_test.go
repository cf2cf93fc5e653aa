package sshd

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

const mainPath = "/etc/ssh/sshd_config"

// fileSetFrom builds a FileSet the way the binding does, asking FileNeeds
// what to read and list until nothing is missing; files stands in for the
// host's disk.
func fileSetFrom(t *testing.T, files map[string]string) FileSet {
	t.Helper()
	fs := FileSet{Text: map[string]string{}, Listed: map[Listing][]string{}}
	for range 20 {
		needs, err := FileNeeds(fs, mainPath)
		if err != nil {
			t.Fatalf("FileNeeds: %v", err)
		}
		if needs.Empty() {
			return fs
		}
		for _, p := range needs.Read {
			text, ok := files[p]
			if !ok {
				t.Fatalf("FileNeeds asked for %s, which does not exist", p)
			}
			fs.Text[p] = text
		}
		for _, l := range needs.List {
			fs.Listed[l] = listFiles(files, l)
		}
	}
	t.Fatal("FileNeeds never settled")
	return fs
}

// listFiles does what Listing.Command does on a host holding files.
func listFiles(files map[string]string, l Listing) []string {
	var out []string
	prefix := strings.TrimSuffix(l.Dir, "/") + "/"
	for p := range files {
		if rest, ok := strings.CutPrefix(p, prefix); ok && strings.Count(rest, "/") == l.Depth-1 {
			out = append(out, p)
		}
	}
	return out
}

func debianStock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/debian12-sshd_config")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type planCase struct {
	name                   string
	files                  map[string]string
	req                    MoveRequest
	from, listen1, listen2 []int
	final                  map[string]string // expected text of files after phase 2
}

func planCases(t *testing.T) []planCase {
	stock := debianStock(t)
	const dropIns = "/etc/ssh/sshd_config.d/"
	return []planCase{
		{
			name:  "debian stock config, no Port line",
			files: map[string]string{mainPath: stock},
			req:   MoveRequest{To: 33001},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: strings.Replace(stock, "#Port 22\n",
				"#Port 22\n# added by remedy sshd.move_port\nPort 33001\n", 1)},
		},
		{
			name:  "Port in main file",
			files: map[string]string{mainPath: "# site config\nPort 22\nPermitRootLogin no\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "# site config\n#Port 22  # disabled by remedy sshd.move_port\n" +
				"# added by remedy sshd.move_port\nPort 33001\nPermitRootLogin no\n"},
		},
		{
			name: "Port in a drop-in",
			files: map[string]string{
				mainPath:                   stock,
				dropIns + "10-port.conf":   "Port 2222\n",
				dropIns + "20-banner.conf": "Banner none\n",
			},
			req:  MoveRequest{To: 33001},
			from: []int{2222}, listen1: []int{2222, 33001}, listen2: []int{33001},
			final: map[string]string{
				mainPath:                 stock,
				dropIns + "10-port.conf": "#Port 2222  # disabled by remedy sshd.move_port\n# added by remedy sshd.move_port\nPort 33001\n",
			},
		},
		{
			name: "several Port lines across files",
			files: map[string]string{
				mainPath:                 "Include sshd_config.d/*.conf\nPort 22\n",
				dropIns + "10-port.conf": "Port=2222\n",
			},
			req:  MoveRequest{To: 33001},
			from: []int{22, 2222}, listen1: []int{22, 2222, 33001}, listen2: []int{33001},
			final: map[string]string{
				mainPath:                 "Include sshd_config.d/*.conf\n#Port 22  # disabled by remedy sshd.move_port\n# added by remedy sshd.move_port\nPort 33001\n",
				dropIns + "10-port.conf": "#Port=2222  # disabled by remedy sshd.move_port\n",
			},
		},
		{
			name:  "ListenAddress 0.0.0.0:22 in main file",
			files: map[string]string{mainPath: "Port 22\nListenAddress 0.0.0.0:22\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "Port 22\n#ListenAddress 0.0.0.0:22  # disabled by remedy sshd.move_port\n" +
				"# added by remedy sshd.move_port\nListenAddress 0.0.0.0:33001\n"},
		},
		{
			name:  "ListenAddress without port takes the Port lines",
			files: map[string]string{mainPath: "ListenAddress 0.0.0.0\nListenAddress ::\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "ListenAddress 0.0.0.0\nListenAddress ::\n# added by remedy sshd.move_port\nPort 33001\n"},
		},
		{
			name:  "pinned and unpinned addresses",
			files: map[string]string{mainPath: "Port 2222\nListenAddress 198.18.0.1\nListenAddress [::1]:22 rdomain vrf1\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{22, 2222}, listen1: []int{22, 2222, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "#Port 2222  # disabled by remedy sshd.move_port\n# added by remedy sshd.move_port\nPort 33001\n" +
				"ListenAddress 198.18.0.1\n#ListenAddress [::1]:22 rdomain vrf1  # disabled by remedy sshd.move_port\n" +
				"# added by remedy sshd.move_port\nListenAddress [::1]:33001 rdomain vrf1\n"},
		},
		{
			name:  "keep 22",
			files: map[string]string{mainPath: stock},
			req:   MoveRequest{To: 33001, Keep: true},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{22, 33001},
			final: map[string]string{mainPath: strings.Replace(stock, "#Port 22\n",
				"#Port 22\n# added by remedy sshd.move_port\nPort 22\nPort 33001\n", 1)},
		},
		{
			name:  "already moved",
			files: map[string]string{mainPath: stock, dropIns + "50-port.conf": "Port 33001\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{33001}, listen1: []int{33001}, listen2: []int{33001},
		},
		{
			name:  "already listening on the new port, keeping the others",
			files: map[string]string{mainPath: "Port 22\nPort 33001\n"},
			req:   MoveRequest{To: 33001, Keep: true},
			from:  []int{22, 33001}, listen1: []int{22, 33001}, listen2: []int{22, 33001},
		},
		{
			name: "Include with globs, hidden and non-matching files",
			files: map[string]string{
				mainPath:                       "Include sshd_config.d/*.conf /etc/ssh/extra/[0-9]*.conf\n",
				dropIns + "10-a.conf":          "Port 2200\n",
				dropIns + ".hidden.conf":       "Port 2201\n",
				dropIns + "notes.txt":          "Port 2202\n",
				"/etc/ssh/extra/5-b.conf":      "Port 2203\n",
				"/etc/ssh/extra/b.conf":        "Port 2204\n",
				"/etc/ssh/extra/sub/6-c.conf":  "Port 2205\n",
				"/etc/ssh/sshd_config.d/x.txt": "Port 2206\n",
			},
			req:  MoveRequest{To: 2203},
			from: []int{2200, 2203}, listen1: []int{2200, 2203}, listen2: []int{2203},
			final: map[string]string{
				dropIns + "10-a.conf":     "#Port 2200  # disabled by remedy sshd.move_port\n",
				"/etc/ssh/extra/5-b.conf": "Port 2203\n",
			},
		},
		{
			name:  "commented Port lines do not count",
			files: map[string]string{mainPath: "#Port 2222\n  # Port 2223\nUsePAM yes\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "#Port 2222\n  # Port 2223\n# added by remedy sshd.move_port\nPort 33001\nUsePAM yes\n"},
		},
		{
			name: "new Port goes before the first Match block",
			files: map[string]string{mainPath: "UsePAM yes\n\nMatch User backup\n\tX11Forwarding no\n" +
				"Match Address 198.18.0.0/15\n\tPasswordAuthentication no\n"},
			req:  MoveRequest{To: 33001},
			from: []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "UsePAM yes\n\n# added by remedy sshd.move_port\nPort 33001\nMatch User backup\n" +
				"\tX11Forwarding no\nMatch Address 198.18.0.0/15\n\tPasswordAuthentication no\n"},
		},
		{
			name: "Match in an included file ends with that file",
			files: map[string]string{
				mainPath:                  "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n",
				dropIns + "10-match.conf": "Match User backup\n  X11Forwarding no\n",
			},
			req:  MoveRequest{To: 33001},
			from: []int{22}, listen1: []int{22, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "Include /etc/ssh/sshd_config.d/*.conf\n#Port 22  # disabled by remedy sshd.move_port\n" +
				"# added by remedy sshd.move_port\nPort 33001\n"},
		},
		{
			name:  "Port after Match all counts",
			files: map[string]string{mainPath: "Match all\nPort 2222\n"},
			req:   MoveRequest{To: 33001},
			from:  []int{2222}, listen1: []int{2222, 33001}, listen2: []int{33001},
			final: map[string]string{mainPath: "Match all\n#Port 2222  # disabled by remedy sshd.move_port\n# added by remedy sshd.move_port\nPort 33001\n"},
		},
	}
}

func TestPlanMove(t *testing.T) {
	for _, c := range planCases(t) {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanMove(fileSetFrom(t, c.files), mainPath, c.req)
			if err != nil {
				t.Fatalf("PlanMove: %v", err)
			}
			if !slices.Equal(p.From, c.from) || !slices.Equal(p.Listen1, c.listen1) || !slices.Equal(p.Listen2, c.listen2) {
				t.Errorf("ports: from %v, phase 1 %v, phase 2 %v; want %v, %v, %v",
					p.From, p.Listen1, p.Listen2, c.from, c.listen1, c.listen2)
			}
			if c.final == nil && !p.Empty() {
				t.Errorf("want an empty plan, got %d+%d edits", len(p.Phase1), len(p.Phase2))
			}
			final := applyEdits(t, applyEdits(t, c.files, p.Phase1), p.Phase2)
			for path, want := range c.final {
				if final[path] != want {
					t.Errorf("%s after phase 2:\n%s\nwant:\n%s", path, final[path], want)
				}
			}
			if c.req.Keep && len(p.Phase2) != 0 {
				t.Errorf("keeping the old ports, phase 2 has edits: %v", p.Phase2)
			}
		})
	}
}

// applyEdits returns files with edits applied, checking each edit starts
// from the file's current text.
func applyEdits(t *testing.T, files map[string]string, edits []Edit) map[string]string {
	t.Helper()
	out := maps.Clone(files)
	for _, e := range edits {
		if out[e.Path] != e.Old {
			t.Fatalf("edit of %s does not start from its current text", e.Path)
		}
		if e.Diff() == "" {
			t.Errorf("edit of %s has an empty diff", e.Path)
		}
		out[e.Path] = e.New
	}
	return out
}

// TestPlanMoveRealSSHD checks every planned config with the real sshd: the
// original, phase 1 and phase 2 files must make sshd -T open exactly the
// ports the plan says.
func TestPlanMoveRealSSHD(t *testing.T) {
	sshd := needRealSSHD(t)
	for _, c := range planCases(t) {
		if strings.Contains(strings.Join(slices.Collect(maps.Values(c.files)), ""), "rdomain") {
			continue // sshd -T refuses a routing domain this machine does not have
		}
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanMove(fileSetFrom(t, c.files), mainPath, c.req)
			if err != nil {
				t.Fatalf("PlanMove: %v", err)
			}
			phase1 := applyEdits(t, c.files, p.Phase1)
			steps := []struct {
				name  string
				files map[string]string
				want  []int
			}{
				{"original", c.files, p.From},
				{"phase 1", phase1, p.Listen1},
				{"phase 2", applyEdits(t, phase1, p.Phase2), p.Listen2},
			}
			for _, s := range steps {
				if got := sshd.listenPorts(t, s.files); !slices.Equal(got, s.want) {
					t.Errorf("%s: sshd -T listens on %v, plan says %v", s.name, got, s.want)
				}
			}
		})
	}
}

// A Port line inside a Match block: sshd -t refuses the config, so the
// binding never plans from it; the planner ignores the line rather than
// fail, and the real sshd confirms the refusal.
func TestPortInMatchBlock(t *testing.T) {
	files := map[string]string{mainPath: "Port 22\nMatch User backup\n  Port 2222\n"}
	p, err := PlanMove(fileSetFrom(t, files), mainPath, MoveRequest{To: 33001})
	if err != nil || !slices.Equal(p.From, []int{22}) {
		t.Fatalf("from %v, %v; want [22] and no error", p.From, err)
	}
	sshd := needRealSSHD(t)
	out, err := sshd.run(t, files, "-t")
	if err == nil || !strings.Contains(out, "not allowed within a Match block") {
		t.Errorf("sshd -t accepted Port in a Match block: %v\n%s", err, out)
	}
}
