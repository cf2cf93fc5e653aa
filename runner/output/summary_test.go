package output

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// --summary-only prints the PLAY banner, the failures with their
// messages and the recap: no line of a host's ok, changed or skipped
// results, no diffs, no audit table.
func TestTextSummaryOnly(t *testing.T) {
	var buf bytes.Buffer
	replay(NewText(&buf, TextOptions{Verbosity: 1, SummaryOnly: true}), auditRecap())
	got := buf.String()
	checkGolden(t, "audit-summary.txt", buf.Bytes())
	for _, absent := range []string{"ok: [", "changed: [", "skipping: [", "+++ ", "would run", "AUDIT [", "...ignoring", "legacy cleanup"} {
		if strings.Contains(got, absent) {
			t.Errorf("summary holds %q:\n%s", absent, got)
		}
	}
	for _, present := range []string{
		"FAILURES ***",
		"CHECK [root login disabled] ***",
		"fatal: [web1]: FAILED! => PermitRootLogin is yes",
		"fatal: [down1]: UNREACHABLE! => down1: dial 198.18.0.9:22",
		"PLAY RECAP ***",
		"web1                       : ok=",
	} {
		if !strings.Contains(got, present) {
			t.Errorf("summary lacks %q:\n%s", present, got)
		}
	}
}

// WriteSummary (remedy report merge -o text) is what --summary-only
// prints after its PLAY banner.
func TestWriteSummaryMatchesSummaryOnly(t *testing.T) {
	var stream, summary bytes.Buffer
	r := auditRecap()
	replay(NewText(&stream, TextOptions{SummaryOnly: true}), r)
	if err := WriteSummary(&summary, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stream.String(), summary.String()) || summary.Len() == 0 {
		t.Errorf("summary-only stream:\n%s\nWriteSummary:\n%s", stream.String(), summary.String())
	}
}

// A run where nothing failed has no FAILURES section.
func TestWriteFailuresNone(t *testing.T) {
	var buf bytes.Buffer
	r := auditRecap()
	r.Hosts = r.Hosts[:0]
	if err := WriteFailures(&buf, r, false); err != nil || buf.Len() != 0 {
		t.Errorf("WriteFailures = %q, %v; want nothing", buf.String(), err)
	}
}

// Failures are the same when their banner and line are, but for the host:
// one group each, banner by banner in the order each banner first
// appears, groups in the order each first appears.
func TestGroupFailures(t *testing.T) {
	f := func(title, host, same string) failure {
		return failure{title: title, host: host, line: strings.ReplaceAll(same, hostMark, host), same: same}
	}
	rootLogin := "fatal: [" + hostMark + "]: FAILED! => PermitRootLogin is yes\n"
	port := "fatal: [" + hostMark + "]: FAILED! => udp/33001 is dropped\n"
	for _, tc := range []struct {
		name string
		in   []failure
		want []failureGroup
	}{
		{name: "none"},
		{name: "one", in: []failure{f("CHECK [a]", "h1", rootLogin)},
			want: []failureGroup{{title: "CHECK [a]", line: "fatal: [h1]: FAILED! => PermitRootLogin is yes\n", same: rootLogin, hosts: []string{"h1"}}}},
		{name: "same failure on three hosts",
			in:   []failure{f("CHECK [a]", "h1", rootLogin), f("CHECK [a]", "h2", rootLogin), f("CHECK [a]", "h3", rootLogin)},
			want: []failureGroup{{title: "CHECK [a]", line: "fatal: [h1]: FAILED! => PermitRootLogin is yes\n", same: rootLogin, hosts: []string{"h1", "h2", "h3"}}}},
		{name: "same line under another banner is another failure",
			in: []failure{f("CHECK [a]", "h1", rootLogin), f("CHECK [b]", "h2", rootLogin)},
			want: []failureGroup{
				{title: "CHECK [a]", line: "fatal: [h1]: FAILED! => PermitRootLogin is yes\n", same: rootLogin, hosts: []string{"h1"}},
				{title: "CHECK [b]", line: "fatal: [h2]: FAILED! => PermitRootLogin is yes\n", same: rootLogin, hosts: []string{"h2"}}}},
		{name: "banners in order of first appearance, groups under their banner",
			in: []failure{
				f("CHECK [a]", "h1", rootLogin), f("CHECK [b]", "h1", port),
				f("CHECK [a]", "h2", port), f("CHECK [b]", "h2", port), f("CHECK [a]", "h3", rootLogin),
			},
			want: []failureGroup{
				{title: "CHECK [a]", line: "fatal: [h1]: FAILED! => PermitRootLogin is yes\n", same: rootLogin, hosts: []string{"h1", "h3"}},
				{title: "CHECK [a]", line: "fatal: [h2]: FAILED! => udp/33001 is dropped\n", same: port, hosts: []string{"h2"}},
				{title: "CHECK [b]", line: "fatal: [h1]: FAILED! => udp/33001 is dropped\n", same: port, hosts: []string{"h1", "h2"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupFailures(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("groupFailures =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestWithoutHost(t *testing.T) {
	for _, tc := range []struct{ msg, host, want string }{
		{"PermitRootLogin is yes", "web1", "PermitRootLogin is yes"},
		{"web1: dial 198.18.0.9:22: refused", "web1", hostMark + ": dial 198.18.0.9:22: refused"},
		{"web10 and web1-b are not web1", "web1", "web10 and web1-b are not " + hostMark},
		{"web1.example.com, web1", "web1", hostMark + ".example.com, " + hostMark},
		{"主機: down", "主機", hostMark + ": down"},
		{"anything", "", "anything"},
	} {
		if got := withoutHost(tc.msg, tc.host); got != tc.want {
			t.Errorf("withoutHost(%q, %q) = %q, want %q", tc.msg, tc.host, got, tc.want)
		}
	}
}

// At fleet scale one failing check is one line naming the count and the
// first hosts; a message that names its host is the same failure on
// every host; different messages stay apart; a single host's line is
// the stream's own.
func TestWriteFailuresAtScale(t *testing.T) {
	r := recap.Recap{Play: recap.Play{Name: "p", Audit: true}}
	for i := range 700 {
		host := fmt.Sprintf("h%03d", i)
		h := recap.HostReport{Host: host, Results: []remote.Result{
			{Host: host, Name: "root login disabled", Kind: remote.KindCheck, Status: remote.StatusFailed, Msg: "PermitRootLogin is yes"},
		}}
		switch {
		case i == 7:
			h.Results[0].Msg = "PermitRootLogin is prohibit-password"
		case i >= 690:
			h.Results = nil
			h.Unreachable = true
			h.Err = fmt.Errorf("%s: dial: connection refused", host)
		}
		r.Hosts = append(r.Hosts, h)
	}
	var buf bytes.Buffer
	if err := WriteFailures(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	want := "\n" + banner("FAILURES") + "\n" +
		"\n" + banner("CHECK [root login disabled]") + "\n" +
		"fatal: 689 hosts [h000, h001, h002, h003, h004 and 684 more]: FAILED! => PermitRootLogin is yes\n" +
		"fatal: [h007]: FAILED! => PermitRootLogin is prohibit-password\n" +
		"\n" + banner("HOST [h690, h691, h692, h693, h694 and 5 more]") + "\n" +
		"fatal: 10 hosts [h690, h691, h692, h693, h694 and 5 more]: UNREACHABLE! => <host>: dial: connection refused\n"
	if got := buf.String(); got != want {
		t.Errorf("failures:\n%s\nwant:\n%s", got, want)
	}
}

// Hosts that could not be reached, each at its own address, failed the
// same way: their addresses are taken out as their names are, and their
// ports stay. A failed check's addresses are its finding and stay.
func TestWriteFailuresUnreachableAddresses(t *testing.T) {
	r := recap.Recap{Play: recap.Play{Name: "p", Audit: true}}
	for i := range 6 {
		host, port := fmt.Sprintf("h%d", i), 22
		if i == 5 {
			port = 33001
		}
		h := recap.HostReport{Host: host, Unreachable: true, Results: []remote.Result{{Host: host, Name: "ssh", Status: remote.StatusUnreachable,
			Msg: fmt.Sprintf("connect to 198.18.0.%d:%d: no answer within 10s (--timeout)", 10+i, port)}}}
		if i == 4 {
			h.Results[0].Msg = "ssh handshake with [fd00::4]:22: no answer within 10s (--timeout)"
		}
		r.Hosts = append(r.Hosts, h)
	}
	for i := range 2 {
		host := fmt.Sprintf("c%d", i)
		r.Hosts = append(r.Hosts, recap.HostReport{Host: host, Results: []remote.Result{{Host: host, Name: "egress", Kind: remote.KindCheck,
			Status: remote.StatusFailed, Msg: fmt.Sprintf("10.0.0.%d:443 is not reachable", i)}}})
	}
	var buf bytes.Buffer
	if err := WriteFailures(&buf, r, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"fatal: 4 hosts [h0, h1, h2, h3]: UNREACHABLE! => connect to <address>:22: no answer within 10s (--timeout)\n",
		"fatal: [h4]: UNREACHABLE! => ssh handshake with [fd00::4]:22",
		"fatal: [h5]: UNREACHABLE! => connect to 198.18.0.15:33001",
		"fatal: [c0]: FAILED! => 10.0.0.0:443 is not reachable\n",
		"fatal: [c1]: FAILED! => 10.0.0.1:443 is not reachable\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("failures lack %q:\n%s", want, buf.String())
		}
	}
}
