package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"remedy/lua/valid"
)

// A domain's sets and refresh job are named after it, readably: its
// lowercase letters and digits, a separator for each dot. That slug is
// exact only for a name of lowercase letters, digits and dots short
// enough to keep whole; any other name (a hyphen, which the slug writes
// as a dot, a capital, a long name) gets a cut slug, a double separator
// no exact slug has, and a hash of the exact name, so that two domains
// (a-b.com, a.b.com) never share a set or a job.
var exactSlug = regexp.MustCompile(`^[a-z0-9.]+$`)

// setSlugMax keeps ipset's 31 characters with room for the refresh job's
// "_n" temporary set: "rmd_" + slug + "_4" + "_n".
const setSlugMax = 31 - len("rmd__4_n")

// unitSlugMax keeps a unit's file name ("remedy-domain-" + slug +
// ".service") under the 255 bytes of a file name.
const unitSlugMax = 200

// setNames are the IPv4 and IPv6 set names of domain: nft, ipset and
// firewalld all take letters, digits and underscores.
func setNames(domain string) [2]string {
	base := namePart(domain, "_", setSlugMax)
	return [2]string{"rmd_" + base + "_4", "rmd_" + base + "_6"}
}

// jobUnit names a domain's refresh script, timer, service and cron entry.
func jobUnit(domain string) string {
	return "remedy-domain-" + namePart(domain, "-", unitSlugMax)
}

// namePart is domain's slug with sep for each run of other characters,
// at most max long: whole when exact, else cut with sep twice and eight
// hex digits of the name's SHA-256 after it.
func namePart(domain, sep string, max int) string {
	s := strings.Trim(nonName.ReplaceAllString(strings.ToLower(domain), sep), sep)
	if exactSlug.MatchString(domain) && len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(domain))
	tag := sep + sep + hex.EncodeToString(sum[:4])
	return strings.TrimRight(s[:min(len(s), max-len(tag))], sep) + tag
}

// legacySetNames and legacyJobUnit are the names remedy gave a domain's
// sets and job before names were exact: the same as now for an exact
// slug; a hyphen written like a dot, and a long name cut with 16 bits of
// FNV-1a, otherwise. Hosts allowed then keep them (hostNames), and
// removal takes them too (removedSetNames).
func legacySetNames(domain string) [2]string {
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(domain), "_"), "_")
	if len(base) > 20 {
		h := fnv.New32a()
		h.Write([]byte(domain))
		base = fmt.Sprintf("%s_%04x", base[:15], h.Sum32()&0xffff)
	}
	return [2]string{"rmd_" + base + "_4", "rmd_" + base + "_6"}
}

func legacyJobUnit(domain string) string {
	return "remedy-domain-" + strings.TrimPrefix(slug(domain), "remedy-")
}

// domainNames are the names of a domain's sets and refresh job.
type domainNames struct {
	sets [2]string
	unit string
}

// hostNames are the names allow_domain gives d on the host of rs: the
// legacy ones where a rule of d's (its comment) names a legacy set, so
// that a host allowed by an earlier remedy is found in place, not given
// a second set of sets and a second job.
func hostNames(rs *Ruleset, d Domain) domainNames {
	legacy := legacySetNames(d.Name)
	if legacy != setNames(d.Name) && namesSet(rs, d.comment(), legacy) {
		return domainNames{sets: legacy, unit: legacyJobUnit(d.Name)}
	}
	return domainNames{sets: setNames(d.Name), unit: jobUnit(d.Name)}
}

// namesSet reports whether a rule of rs commented comment names one of sets.
func namesSet(rs *Ruleset, comment string, sets [2]string) bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if r.Comment == comment && slices.ContainsFunc(setsNamed(r), func(s string) bool { return s == sets[0] || s == sets[1] }) {
					return true
				}
			}
		}
	}
	return false
}

// setOwner names another domain whose rule (an earlier remedy's, which
// named a-b.com's sets as a.b.com's) names one of sets, if any.
func setOwner(rs *Ruleset, d Domain, sets [2]string) string {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				name, ok := strings.CutPrefix(r.Comment, CommentPrefix+" ")
				if ok && name != d.Name && valid.Domain(name) == nil && slices.ContainsFunc(setsNamed(r), func(s string) bool { return s == sets[0] || s == sets[1] }) {
					return name
				}
			}
		}
	}
	return ""
}

// removedSetNames are, for each domain a removal undoes, the set names it
// deletes where the host has them: its own, and its legacy ones but
// those of a domain that stays (a job or a rule of its remains) and, on
// an earlier remedy's host, shares them.
func removedSetNames(rs *Ruleset, inst Installed, domains []string) map[string][]string {
	kept := map[string]bool{}
	keep := func(name string) {
		if slices.Contains(domains, name) || valid.Domain(name) != nil {
			return
		}
		for _, s := range setNames(name) {
			kept[s] = true
		}
		legacy := legacySetNames(name)
		// A legacy name is the staying domain's when its rule names it;
		// firewalld's rules carry no comment to tell.
		if namesSet(rs, Domain{Name: name}.comment(), legacy) || len(inst.FirewalldIpsets) > 0 {
			kept[legacy[0]], kept[legacy[1]] = true, true
		}
	}
	for _, j := range inst.DomainJobs {
		keep(j.Domain)
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if name, ok := strings.CutPrefix(r.Comment, CommentPrefix+" "); ok {
					keep(name)
				}
			}
		}
	}
	for _, c := range inst.FirewalldComments {
		if name, ok := strings.CutPrefix(c, CommentPrefix+" "); ok {
			keep(name)
		}
	}
	out := map[string][]string{}
	for _, d := range domains {
		own, legacy := setNames(d), legacySetNames(d)
		out[d] = own[:]
		for _, s := range legacy {
			if !kept[s] && !slices.Contains(out[d], s) {
				out[d] = append(out[d], s)
			}
		}
	}
	return out
}
