package firewall

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ufwAllow is `ufw allow` for a, with the comment ufw keeps beside the
// rule; ufw writes its own files, so nothing else persists it.
func ufwAllow(a Allow) []string {
	port := strings.Replace(a.Ports.String(), "-", ":", 1)
	cmd := []string{"ufw", "allow"}
	if a.Dir == "out" {
		cmd = append(cmd, "out")
	}
	from, to := "any", "any"
	if a.Src.IsValid() {
		from = a.Src.Masked().String()
	}
	if a.Dst.IsValid() {
		to = a.Dst.Masked().String()
	}
	return append(cmd, "proto", a.Proto, "from", from, "to", to, "port", port, "comment", a.Comment)
}

// ufwNumbered matches a line of `ufw status numbered` that carries a
// comment: "[ 2] 33001:33010/udp   ALLOW IN   Anywhere   # remedy: fasp".
var ufwNumbered = regexp.MustCompile(`^\[\s*(\d+)\].*?#\s*(.*?)\s*$`)

// removeUfw deletes, highest number first so the others keep theirs, the
// numbered rules whose comment removed says go.
func removeUfw(numbered string, removed func(comment string) bool) [][]string {
	var nums []int
	for _, line := range strings.Split(numbered, "\n") {
		m := ufwNumbered.FindStringSubmatch(strings.TrimSpace(line))
		if m != nil && removed(m[2]) {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	slices.Reverse(nums)
	var cmds [][]string
	for _, n := range nums {
		cmds = append(cmds, []string{"ufw", "--force", "delete", fmt.Sprint(n)})
	}
	return cmds
}
