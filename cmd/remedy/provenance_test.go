package main

import (
	"slices"
	"strings"
	"testing"
)

// The command line a report shows has the values of secret -e keys
// masked, whichever way -e was written, and nothing else changed.
func TestMaskArgs(t *testing.T) {
	args := []string{"run", "pb.lua", "-i", "hosts.ini", "-e", "ansible_password=hunter2 port=22 api_token='a b'",
		"--extra-vars={\"db\": {\"root_pass\": \"s3\"}, \"user\": \"x\"}", "-eaws_secret=k1", "--extra-vars", "ssh_key=k2",
		"-e", "@vars.yml", "--become-password-file", "pw.txt", "-e", `msg="unbalanced`}
	got := maskArgs(args)
	want := []string{"run", "pb.lua", "-i", "hosts.ini", "-e", "ansible_password=******** port=22 api_token=********",
		`--extra-vars={"db":{"root_pass":"********"},"user":"x"}`, "-eaws_secret=********", "--extra-vars", "ssh_key=********",
		"-e", "@vars.yml", "--become-password-file", "pw.txt", "-e", "********"}
	if !slices.Equal(got, want) {
		t.Errorf("maskArgs:\n got %q\nwant %q", got, want)
	}
	for _, secret := range []string{"hunter2", "s3", "k1", "k2", "'a b'"} {
		if strings.Contains(strings.Join(got, " "), secret) {
			t.Errorf("%q still on the command line", secret)
		}
	}
}
