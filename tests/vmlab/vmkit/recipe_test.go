package vmkit

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// An image's recipe is its profile's script, profile.sh and what they
// source: a change to nftables' configuration rebuilds the nftables and
// selinux images, not the others.
func TestRecipeFiles(t *testing.T) {
	for profile, want := range map[string][]string{
		"nftables":   {"profile.sh", "profiles/nftables.sh", "nftables-conf.sh"},
		"selinux":    {"profile.sh", "profiles/selinux.sh", "nftables-conf.sh"},
		"ufw":        {"profile.sh", "profiles/ufw.sh"},
		"ssh-socket": {"profile.sh", "profiles/ssh-socket.sh"},
	} {
		got, err := recipeFiles("profile.sh", "profiles/"+profile+".sh")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: recipe files %v, %v; want %v", profile, got, err, want)
		}
	}
	base, err := recipeFiles(baseFiles...)
	if err != nil || !slices.Equal(base, baseFiles) {
		t.Errorf("base recipe files %v, %v; want %v", base, err, baseFiles)
	}
}

// Every profile has its script, and every script is a profile's.
func TestRecipeCoversEveryProfile(t *testing.T) {
	scripts, err := fs.Glob(recipe, "recipe/profiles/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range scripts {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(s, "recipe/profiles/"), ".sh"))
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(Profiles))
	if !slices.Equal(names, want) {
		t.Errorf("profile scripts %v, want one per profile %v", names, want)
	}
}
