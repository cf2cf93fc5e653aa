package inventory

import (
	"reflect"
	"testing"
)

func TestExpandHostPattern(t *testing.T) {
	cases := []struct {
		in    string
		names []string
		port  int
	}{
		{"web1", []string{"web1"}, 0},
		{"web1:2222", []string{"web1"}, 2222},
		{"web[1:3]", []string{"web1", "web2", "web3"}, 0},
		{"web[01:10:4]", []string{"web01", "web05", "web09"}, 0},
		{"web[8:10]", []string{"web8", "web9", "web10"}, 0},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, 0},
		{"db-[a:e:2].lab", []string{"db-a.lab", "db-c.lab", "db-e.lab"}, 0},
		{"[y:B]", []string{"y", "z", "A", "B"}, 0},
		{"r[1:2]-n[a:b]:22", []string{"r1-na", "r1-nb", "r2-na", "r2-nb"}, 22},
		{"web[:2]", []string{"web0", "web1", "web2"}, 0},
		{"198.18.0.[1:2]", []string{"198.18.0.1", "198.18.0.2"}, 0},
		{"198.18.0.1:22", []string{"198.18.0.1"}, 22},
		{"[2001:db8::1]:2222", []string{"2001:db8::1"}, 2222},
		{"2001:db8::1", []string{"2001:db8::1"}, 0},
		{"host_with-odd.chars_", []string{"host_with-odd.chars_"}, 0},
	}
	for _, tc := range cases {
		names, port, err := expandHostPattern(tc.in)
		if err != nil || !reflect.DeepEqual(names, tc.names) || port != tc.port {
			t.Errorf("expandHostPattern(%q) = %q, %d, %v; want %q, %d", tc.in, names, port, err, tc.names, tc.port)
		}
	}
	for _, bad := range []string{"web[1:x]", "web[3:1]", "web[01:100]", "web[1:2:0]", "web[1]", "web[1:]", "web[1:2", "web[0:999999]"} {
		if names, _, err := expandHostPattern(bad); err == nil {
			t.Errorf("expandHostPattern(%q) = %q, want an error", bad, names)
		}
	}
}
