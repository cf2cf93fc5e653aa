package vmkit

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
)

// recipe holds the scripts that build the images: base.sh and what it
// runs make a suite's base system, profile.sh and profiles/NAME.sh make a
// profile's image from it.
//
//go:embed recipe
var recipe embed.FS

// baseFiles make a suite's base system.
var baseFiles = []string{"base.sh", "initramfs.sh", "common.sh"}

// sourced matches a script's `. "$RECIPE/FILE"` lines, FILE without variables
// (profile.sh sources the profile's own script, hashed by name).
var sourced = regexp.MustCompile(`(?m)^\s*\.\s+"\$RECIPE/([^"$]+)"`)

// recipeHash hashes parts and the recipe files that make something (see
// recipeFiles), so that an image is rebuilt exactly when what makes it
// changes.
func recipeHash(parts []string, files ...string) (string, error) {
	files, err := recipeFiles(files...)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	for _, name := range files {
		b, err := fs.ReadFile(recipe, "recipe/"+name)
		if err != nil {
			return "", fmt.Errorf("recipe: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// recipeFiles lists the named recipe files and every file they source,
// each once.
func recipeFiles(names ...string) ([]string, error) {
	var files []string
	for len(names) > 0 {
		name := names[0]
		names = names[1:]
		if slices.Contains(files, name) {
			continue
		}
		b, err := fs.ReadFile(recipe, "recipe/"+name)
		if err != nil {
			return nil, fmt.Errorf("recipe: %w", err)
		}
		files = append(files, name)
		for _, m := range sourced.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
	}
	return files, nil
}

// writeRecipe copies the recipe into a new directory for the build
// scripts to run from.
func writeRecipe() (string, error) {
	dir, err := os.MkdirTemp("", "remedy-vmlab-recipe-")
	if err != nil {
		return "", fmt.Errorf("recipe: %w", err)
	}
	sub, err := fs.Sub(recipe, "recipe")
	if err == nil {
		err = os.CopyFS(dir, sub)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("recipe: write to %s: %w", dir, err)
	}
	return dir, nil
}
