// Package sshd reads an OpenSSH server's effective ports and plans moving
// them without locking anyone out: pure functions from command output
// (sshd -T, ss, semanage, systemctl cat) and config file text to values and
// file edits. It runs no command and knows nothing of SSH or Lua.
package sshd
