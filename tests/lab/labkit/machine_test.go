package labkit

import (
	"os"
	"strings"
	"testing"
)

// Debian's sshd_config with an administrator's hardening appended: the lab
// host's copy keeps the rest and leaves what the lab relies on at
// OpenSSH's defaults.
func TestSSHDConfigDropsWhatTheLabReliesOn(t *testing.T) {
	machine, err := os.ReadFile("testdata/sshd_config-hardened")
	if err != nil {
		t.Fatal(err)
	}
	got := string(sshdConfig(machine))
	for _, line := range strings.Split(got, "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		for _, gone := range []string{"port", "permitrootlogin", "hostkey /etc/ssh/ssh_host_rsa_key", "pubkeyauthentication", "allowusers"} {
			if strings.HasPrefix(line, gone) {
				t.Errorf("the host's sshd_config still has %q", line)
			}
		}
	}
	for _, kept := range []string{
		"HostKey /etc/ssh/ssh_host_ecdsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
		"Include /etc/ssh/sshd_config.d/*.conf\n", "UsePAM yes\n", "Match Address 10.0.0.0/8\n",
	} {
		if !strings.Contains(got, kept) {
			t.Errorf("the host's sshd_config lost %q:\n%s", kept, got)
		}
	}
}

func TestFreeIDSkipsUsedUIDsAndGIDs(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
	group := []byte("root:x:0:\nalice:x:1000:\nstaff:x:1001:\n")
	if got := freeID(passwd, group); got != 1002 {
		t.Errorf("freeID = %d, want 1002", got)
	}
}
