package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remedy/inventory"
	"remedy/runner/recap"
)

func loadInventory(t *testing.T, sources ...string) map[string]*inventory.Host {
	t.Helper()
	inv, err := inventory.Load(sources)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := inv.Hosts("all")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*inventory.Host{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	return byName
}

func TestReportMovedPorts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hosts.ini")
	const original = "# lab\n[web]\nh1 ansible_host=198.18.0.10  # first\nh2 ansible_host=198.18.0.11\n"
	if err := os.WriteFile(file, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := loadInventory(t, file)
	recap := recap.Recap{Hosts: []recap.HostReport{{Host: "h1", MovedPort: 33001}, {Host: "h2"}}}

	var out bytes.Buffer
	if err := reportMovedPorts(&out, recap, inv, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != original || out.String() != "h1: inventory: ansible_port=33001 (--update-inventory writes it)\n" {
		t.Errorf("without --update-inventory: printed %q, file now %q", out.String(), got)
	}

	out.Reset()
	if err := reportMovedPorts(&out, recap, inv, true); err != nil {
		t.Fatal(err)
	}
	want := "# lab\n[web]\nh1 ansible_host=198.18.0.10 ansible_port=33001  # first\nh2 ansible_host=198.18.0.11\n"
	if got, _ := os.ReadFile(file); string(got) != want || !strings.Contains(out.String(), "written to "+file) {
		t.Errorf("with --update-inventory: printed %q, file now %q, want %q", out.String(), got, want)
	}
}

func TestReportMovedPortsHostList(t *testing.T) {
	inv := loadInventory(t, "h1,h2,")
	recap := recap.Recap{Hosts: []recap.HostReport{{Host: "h1", MovedPort: 33001}}}
	var out bytes.Buffer
	err := reportMovedPorts(&out, recap, inv, true)
	if err == nil || !strings.Contains(err.Error(), "ansible_port=33001 yourself") || !strings.Contains(out.String(), "NOT written") {
		t.Errorf("a host no file names: %v, printed %q", err, out.String())
	}
}
