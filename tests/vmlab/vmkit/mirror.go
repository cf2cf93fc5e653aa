package vmkit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// aptSource is one file of apt's sources, by path and content.
type aptSource struct {
	path, text string
}

// machineMirror returns the Debian archive this machine's own apt sources
// name, the one place images may come from.
func machineMirror() (string, error) {
	codename, err := osCodename("/etc/os-release")
	if err != nil {
		return "", err
	}
	var sources []aptSource
	paths := []string{"/etc/apt/sources.list"}
	for _, pattern := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join("/etc/apt/sources.list.d", pattern))
		slices.Sort(m)
		paths = append(paths, m...)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read apt sources: %w", err)
		}
		sources = append(sources, aptSource{p, string(b)})
	}
	return debianMirror(sources, codename)
}

// osCodename reads VERSION_CODENAME from an os-release file.
func osCodename(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("which Debian release is this machine: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok && strings.Trim(v, `"'`) != "" {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", fmt.Errorf("%s: no VERSION_CODENAME: the VM lab builds from a Debian machine's archive", path)
}

// debianMirror returns the first archive URI that a "deb" source lists for
// the machine's own release (codename), from one-line .list files and
// deb822 .sources files alike.
func debianMirror(sources []aptSource, codename string) (string, error) {
	for _, s := range sources {
		var uri string
		if strings.HasSuffix(s.path, ".sources") {
			uri = deb822Mirror(s.text, codename)
		} else {
			uri = oneLineMirror(s.text, codename)
		}
		if uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("no apt source of this machine lists Debian's archive for %s: the VM lab builds its images from it", codename)
}

func oneLineMirror(text, codename string) string {
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // [arch=amd64 signed-by=...]
			i := slices.IndexFunc(f, func(w string) bool { return strings.HasSuffix(w, "]") })
			if i < 0 || len(f) < i+3 {
				continue
			}
			f = f[i+1:]
		}
		if f[1] == codename {
			return f[0]
		}
	}
	return ""
}

func deb822Mirror(text, codename string) string {
	sc := bufio.NewScanner(strings.NewReader(text + "\n\n"))
	fields := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) != "" {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.ToLower(k)] = strings.TrimSpace(v)
			}
			continue
		}
		uris := strings.Fields(fields["uris"])
		if len(uris) > 0 && fields["enabled"] != "no" &&
			slices.Contains(strings.Fields(fields["types"]), "deb") &&
			slices.Contains(strings.Fields(fields["suites"]), codename) {
			return uris[0]
		}
		fields = map[string]string{}
	}
	return ""
}
