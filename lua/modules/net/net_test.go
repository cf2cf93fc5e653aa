package net

import (
	"os"
	"reflect"
	"testing"
)

func TestParseAhosts(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/getent/ahosts-localhost.txt": {"127.0.0.1"},
		"testdata/getent/ahosts-multi.txt":     {"198.18.0.9", "198.18.0.10", "2001:db8::9"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseAhosts(string(b)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", file, got, want)
		}
	}
}
