package sshd

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// SSHDir is where sshd resolves relative Include paths.
const SSHDir = "/etc/ssh"

// FileSet is what the planner knows of a host's files: the text of each file
// read, and the files found under each directory an Include glob may match.
// Globbing is done here, on these lists, so it stays pure.
type FileSet struct {
	Text   map[string]string    // path -> contents
	Listed map[Listing][]string // listing -> full paths of the regular files found
}

// Listing is a directory and the depth below it at which an Include glob's
// matches live: /etc/ssh/sshd_config.d/*.conf is {"/etc/ssh/sshd_config.d", 1}.
type Listing struct {
	Dir   string
	Depth int
}

// Command is the argv that lists the regular files exactly Depth levels
// below Dir, one path per line; a missing directory lists nothing, as a glob
// that matches nothing.
func (l Listing) Command() []string {
	const script = `test -d "$1" || exit 0; exec find -L "$1" -mindepth "$2" -maxdepth "$2" -type f`
	return []string{"sh", "-c", script, "sh", l.Dir, strconv.Itoa(l.Depth)}
}

// ParseListing reads the output of a Listing's Command.
func ParseListing(out string) []string {
	var paths []string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			paths = append(paths, line)
		}
	}
	return paths
}

// Needs is what must be fetched from the host before a FileSet is complete.
type Needs struct {
	Read []string  // files to read into Text
	List []Listing // directories to list into Listed
}

// Empty reports whether nothing is missing.
func (n Needs) Empty() bool { return len(n.Read) == 0 && len(n.List) == 0 }

// includeListing returns the listing an Include pattern's matches come from.
// The base is the pattern's directory part up to the first component with a
// glob character; a literal path lists its own directory.
func includeListing(pattern string) Listing {
	comps := strings.Split(pattern, "/")
	first := len(comps) - 1
	for i, c := range comps {
		if strings.ContainsAny(c, "*?[") {
			first = i
			break
		}
	}
	dir := strings.Join(comps[:first], "/")
	if dir == "" {
		dir = "/"
	}
	return Listing{Dir: dir, Depth: len(comps) - first}
}

// absInclude makes an Include argument absolute the way sshd does.
func absInclude(arg string) string {
	if strings.HasPrefix(arg, "/") {
		return path.Clean(arg)
	}
	return path.Join(SSHDir, arg)
}

// glob returns the listed files matching pattern, sorted as glob(3) sorts
// them, with its rule that a wildcard does not match a leading dot.
func (fs FileSet) glob(pattern string) []string {
	pc := strings.Split(pattern, "/")
	var out []string
	for _, p := range fs.Listed[includeListing(pattern)] {
		if matchComponents(pc, strings.Split(p, "/")) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func matchComponents(pattern, name []string) bool {
	if len(pattern) != len(name) {
		return false
	}
	for i := range pattern {
		if strings.HasPrefix(name[i], ".") && !strings.HasPrefix(pattern[i], ".") {
			return false
		}
		if ok, err := path.Match(pattern[i], name[i]); err != nil || !ok {
			return false
		}
	}
	return true
}
