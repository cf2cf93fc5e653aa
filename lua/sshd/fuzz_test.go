package sshd

import "testing"

// FuzzPlanMove feeds arbitrary config text to the planner: it must return a
// plan or an error, never panic, and a plan's phase 2 must start from phase
// 1's result.
func FuzzPlanMove(f *testing.F) {
	for _, seed := range []string{"Port 22\n", "ListenAddress [::]:22\nMatch all\nPort 2\n", "#Port 1\nMatch User x\n", "Port=\"22\" # c\n"} {
		f.Add(seed, 33001, false)
	}
	f.Fuzz(func(t *testing.T, text string, to int, keep bool) {
		fs := FileSet{Text: map[string]string{mainPath: text}, Listed: map[Listing][]string{}}
		p, err := PlanMove(fs, mainPath, MoveRequest{To: to, Keep: keep})
		if err != nil {
			return
		}
		if len(p.Phase1) > 0 && len(p.Phase2) > 0 && p.Phase2[0].Old != p.Phase1[0].New {
			t.Errorf("phase 2 does not start from phase 1's text")
		}
	})
}
