package firewall

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A removal's prefix ends at a word: it takes the comment itself and
// those going on after a space, never another domain's whose name only
// starts alike.
func TestRemovalTakes(t *testing.T) {
	for _, tt := range []struct {
		prefix, comment string
		want            bool
	}{
		{"remedy: api.ibmaspera.com", "remedy: api.ibmaspera.com", true},
		{"remedy: api.ibmaspera.com", "remedy: api.ibmaspera.com.cn", false},
		{"remedy: api.ibmaspera.com", "remedy: api.ibmaspera.com-other", false},
		{"remedy: DNS/udp for a.io", "remedy: DNS/udp for a.io-b", false},
		{"remedy: aspera", "remedy: aspera FASP", true},
		{"remedy: aspera", "remedy: asperax", false},
		{"remedy: aspera ", "remedy: aspera FASP", true},
		{"remedy:", "remedy: anything", true},
		{"remedy: fasp", "remedy: fas", false},
	} {
		if got := removalTakes(tt.prefix, tt.comment); got != tt.want {
			t.Errorf("removalTakes(%q, %q) = %v, want %v", tt.prefix, tt.comment, got, tt.want)
		}
	}
}

// firewalld's services and policies are removed by the comment they
// were made for, not by a name slug makes alike for two comments
// ("a.io-b" and "a.io b"); where the comment is unknown, by the name the
// prefix's own comment makes.
func TestRemoveFirewalldByComment(t *testing.T) {
	comments := map[string]string{
		"remedy-a-io": "remedy: a.io", "remedy-a-io-b": "remedy: a.io-b", "remedy-a-io-c": "remedy: a.io c",
		"rmd-a-io": "remedy: a.io", "rmd-a-io-b": "remedy: a.io-b",
		livePolicy: "remedy: outbound openings until firewalld's next reload",
	}
	inst := Installed{
		FirewalldServices: []string{"ssh", "remedy-a-io", "remedy-a-io-b", "remedy-a-io-c"},
		FirewalldPolicies: []string{"allow-host-ipv6", "rmd-a-io", "rmd-a-io-b", livePolicy},
	}
	for _, tt := range []struct {
		prefix   string
		comments map[string]string
		want     string
	}{
		{"remedy: a.io", comments, `firewall-cmd --permanent --zone=public --remove-service=remedy-a-io
firewall-cmd --permanent --delete-service=remedy-a-io
firewall-cmd --permanent --zone=public --remove-service=remedy-a-io-c
firewall-cmd --permanent --delete-service=remedy-a-io-c
firewall-cmd --permanent --delete-policy=rmd-a-io
firewall-cmd --reload`},
		{"remedy: a.io", nil, `firewall-cmd --permanent --zone=public --remove-service=remedy-a-io
firewall-cmd --permanent --delete-service=remedy-a-io
firewall-cmd --permanent --delete-policy=rmd-a-io
firewall-cmd --reload`},
		{"remedy: a.io-b", comments, `firewall-cmd --permanent --zone=public --remove-service=remedy-a-io-b
firewall-cmd --permanent --delete-service=remedy-a-io-b
firewall-cmd --permanent --delete-policy=rmd-a-io-b
firewall-cmd --reload`},
		// The live policy's description is remedy's too: only everything takes it.
		{"remedy: outbound", comments, ""},
		{"remedy:", nil, `firewall-cmd --permanent --zone=public --remove-service=remedy-a-io
firewall-cmd --permanent --delete-service=remedy-a-io
firewall-cmd --permanent --zone=public --remove-service=remedy-a-io-b
firewall-cmd --permanent --delete-service=remedy-a-io-b
firewall-cmd --permanent --zone=public --remove-service=remedy-a-io-c
firewall-cmd --permanent --delete-service=remedy-a-io-c
firewall-cmd --permanent --delete-policy=rmd-a-io
firewall-cmd --permanent --delete-policy=rmd-a-io-b
firewall-cmd --permanent --delete-policy=rmd--live
firewall-cmd --reload`},
	} {
		in := inst
		in.FirewalldComments = tt.comments
		plan, err := PlanRemove(loadFixture(t, "firewalld/public-ssh.json"), System{Backend: Firewalld, Zone: "public"}, in, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if got := joined(plan.Commands); got != tt.want {
			t.Errorf("%q, comments known %v:\n%s\nwant:\n%s", tt.prefix, tt.comments != nil, got, tt.want)
		}
	}
}

// The comments come from firewalld's files of remedy's services and
// policies, as firewalld writes them; a file that is not XML is left
// out. The script runs here on files in a directory of its own.
func TestReadFirewalldComments(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"services/remedy-aspera-fasp.xml": `<?xml version="1.0" encoding="utf-8"?>
<service>
  <description>remedy: aspera FASP</description>
  <port port="33001" protocol="udp"/>
</service>
`,
		"policies/rmd-api-ibmas-a0ec.xml": `<?xml version="1.0" encoding="utf-8"?>
<policy priority="-100" target="CONTINUE">
  <description>remedy: api.ibmaspera.com &amp; more</description>
  <ingress-zone name="HOST"/>
  <egress-zone name="ANY"/>
</policy>
`,
		"policies/rmd-broken.xml":      "not xml",
		"policies/allow-host-ipv6.xml": `<policy><description>not remedy's</description></policy>`,
	}
	for _, sub := range []string{"services", "policies"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	argv := FirewalldCommentsArgv()
	script := strings.ReplaceAll(argv[2], "/etc/firewalld/", dir+"/")
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadFirewalldComments(out)
	want := map[string]string{"remedy-aspera-fasp": "remedy: aspera FASP", "rmd-api-ibmas-a0ec": "remedy: api.ibmaspera.com & more"}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("comments %q (%v), want %q", got, err, want)
	}
}

// The removal's read over D-Bus says which policies the runtime holds,
// what remedy's live policy holds, and the settings of remedy's
// policies the runtime lacks, as busctl prints them.
func TestReadFirewalldInstalledLive(t *testing.T) {
	const b = "\nremedy-00000000000000000000000000000000:"
	r2 := `rule family="ipv4" destination address="198.18.0.2/32" port port="8444" protocol="tcp" accept`
	out := b + "services\nas 1 \"ssh\"\n" + b + "policies\nas 3 \"rmd-peer\" \"rmd-peer2\" \"rmd--live\"\n" +
		b + "runtime\nas 2 \"rmd-peer\" \"rmd--live\"\n" +
		b + "live\na{sv} 1 \"rich_rules\" as 1 \"rule family=\\\"ipv4\\\" destination address=\\\"198.18.0.2/32\\\" port port=\\\"8444\\\" protocol=\\\"tcp\\\" accept\"\n" +
		b + "settings rmd-peer2\na{sv} 2 \"description\" s \"remedy: peer2\" \"rich_rules\" as 1 \"rule family=\\\"ipv4\\\" destination address=\\\"198.18.0.2/32\\\" port port=\\\"8444\\\" protocol=\\\"tcp\\\" accept\"\n" +
		b + "rich\nas 0\n" + b + "ipsets\nas 0\n"
	in, err := ReadFirewalldInstalled([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.RuntimePolicies, []string{"rmd-peer", livePolicy}) || !slices.Equal(in.LiveRules, []string{r2}) ||
		len(in.PolicySettings) != 1 || !slices.Equal(in.PolicySettings["rmd-peer2"]["rich_rules"], []string{r2}) {
		t.Errorf("read %+v", in)
	}
	if !liveOnly(in, "rmd-peer2") || liveOnly(in, "rmd-peer") {
		t.Errorf("live only: rmd-peer2 %v, rmd-peer %v", liveOnly(in, "rmd-peer2"), liveOnly(in, "rmd-peer"))
	}
}
