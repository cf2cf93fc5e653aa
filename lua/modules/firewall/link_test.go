package firewall_test

// The firewall's tests run playbooks that call other modules (cmd.run
// between two reads): an external test package may link them in.
import _ "remedy/lua/modules/all"
