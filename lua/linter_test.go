package lua

import (
	"fmt"
	"testing"
)

func TestTableTypeKeys(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want map[string]bool
	}{
		{"{path: string, mode?: string}", map[string]bool{"path": true, "mode": false}},
		{`{dir: "in"|"out", ok_rc?: integer[], t?: {a: string, b: string}, f?: fun(a: string, b: string): boolean}`, map[string]bool{"dir": true, "ok_rc": false, "t": false, "f": false}},
		{"string", nil},
		{"remedy.Stat", nil},
	} {
		got, ok := tableTypeKeys(tc.typ)
		if ok != (tc.want != nil) || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v %v, want %v", tc.typ, got, ok, tc.want)
		}
	}
}
