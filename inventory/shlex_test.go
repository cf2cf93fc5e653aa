package inventory

import (
	"reflect"
	"testing"
)

func TestShlexSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"web1 a=1  b=2", []string{"web1", "a=1", "b=2"}},
		{`h a="x y" b='c d'`, []string{"h", "a=x y", "b=c d"}},
		{`h a=x\ y`, []string{"h", "a=x y"}},
		{`h a="q\"q\\q\n"`, []string{"h", `a=q"q\q\n`}},
		{`h a='no\escape'`, []string{"h", `a=no\escape`}},
		{"h a=b#c d=e", []string{"h", "a=b"}},
		{"h # comment", []string{"h"}},
		{`h a="#not"`, []string{"h", "a=#not"}},
		{`h a=""`, []string{"h", "a="}},
		{`""`, []string{""}},
		{"h\ta=1", []string{"h", "a=1"}},
	}
	for _, tc := range cases {
		got, err := shlexSplit(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shlexSplit(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`h a="x`, `h a='x`, `h a\`} {
		if _, err := shlexSplit(bad); err == nil {
			t.Errorf("shlexSplit(%q): want an error", bad)
		}
	}
}
