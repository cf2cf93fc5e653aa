package runner

import (
	"reflect"
	"testing"

	"remedy/inventory"
)

func TestInventorySettingsLeaveDefaultsToSSHConfig(t *testing.T) {
	got := inventorySettings("web1", inventory.Conn{Addr: "web1", Port: 22, User: "u", ProxyJump: []string{"b"}})
	want := Settings{User: "u", ProxyJump: []string{"b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inventorySettings = %+v, want %+v", got, want)
	}
	got = inventorySettings("web1", inventory.Conn{Addr: "198.18.0.2", Port: 2222})
	if got.Addr != "198.18.0.2" || got.Port != 2222 {
		t.Errorf("explicit address and port lost: %+v", got)
	}
}

func TestBecomeFor(t *testing.T) {
	tests := []struct {
		name string
		conn inventory.Conn
		cli  CommandLine
		want *Become
	}{
		{"off", inventory.Conn{}, CommandLine{BecomePassword: "typed"}, nil},
		{"-b with -K", inventory.Conn{}, CommandLine{Become: true, BecomeUser: "app", BecomePassword: "typed"},
			&Become{User: "app", Password: "typed"}},
		{"inventory wins", inventory.Conn{Become: true, BecomeUser: "db", BecomePassword: "inv"},
			CommandLine{BecomeUser: "app", BecomePassword: "typed"}, &Become{User: "db", Password: "inv"}},
	}
	for _, tt := range tests {
		if got := becomeFor(tt.conn, tt.cli); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: becomeFor = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
