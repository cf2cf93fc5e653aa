package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// maxPasswordFile bounds a password file: a password, not a document.
const maxPasswordFile = 64 << 10

// readPasswordFile reads --become-password-file as Ansible does, the
// content with white space stripped from both ends, "-" for standard
// input. Ansible runs an executable file and takes its output; remedy
// runs no program on the controller, so it refuses one rather than read
// a script as the password. The file is opened without blocking and must
// be a regular file: a FIFO or a device could hold the run forever.
func readPasswordFile(path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, maxPasswordFile+1))
	} else {
		data, err = readRegularFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--become-password-file: %w", err)
	}
	if len(data) > maxPasswordFile {
		return "", fmt.Errorf("--become-password-file %s: larger than %d bytes, not a password", path, maxPasswordFile)
	}
	pw := strings.TrimSpace(string(data))
	if pw == "" {
		return "", fmt.Errorf("--become-password-file %s: empty", path)
	}
	return pw, nil
}

func readRegularFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, info.Mode().Type())
	case info.Mode().Perm()&0o111 != 0:
		return nil, errors.New(path + ": executable; Ansible would run it as a script for the password, remedy runs no program: " +
			"write the password into a file that is not executable (chmod 0600)")
	}
	return io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
}
