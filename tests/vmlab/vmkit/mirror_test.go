package vmkit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDebianMirror(t *testing.T) {
	read := func(names ...string) []aptSource {
		var s []aptSource
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join("testdata/apt", n))
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, aptSource{n, string(b)})
		}
		return s
	}
	for _, c := range []struct {
		name     string
		sources  []aptSource
		codename string
		want     string // "" for an error
	}{
		{"deb822, as cloud images have it", read("debian12-cloud.sources"), "bookworm", "http://deb.debian.org/debian"},
		{"one-line with options, cdrom commented out", read("debian12-classic.list"), "bookworm", "http://ftp.de.debian.org/debian/"},
		{"vendor repositories and disabled sources are skipped", read("vendor.list", "disabled.sources", "debian12-cloud.sources"), "bookworm", "http://deb.debian.org/debian"},
		{"a release the sources do not list", read("debian12-cloud.sources"), "trixie", ""},
		{"no Debian source", read("vendor.list", "disabled.sources"), "bookworm", ""},
	} {
		got, err := debianMirror(c.sources, c.codename)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: got %q, want an error", c.name, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
