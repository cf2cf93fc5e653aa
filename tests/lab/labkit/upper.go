package labkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// upper writes a host's files into its overlay upper dirs before the
// overlays are mounted, which is much cheaper than running commands inside
// the host. Paths are absolute paths as the host sees them ("/etc/hosts");
// root maps each overlaid top directory to its upper dir on the machine.
type upper struct {
	root map[string]string // "/etc" -> Dir/hosts/h1/etc
}

// path returns where the host path p lives on the machine.
func (u upper) path(p string) (string, error) {
	for top, dir := range u.root {
		if rel, err := filepath.Rel(top, p); err == nil && filepath.IsLocal(rel) {
			return filepath.Join(dir, rel), nil
		}
	}
	return "", fmt.Errorf("%s is on no overlaid directory", p)
}

// mkdirs creates p's parents in the upper dir with the owner and mode the
// machine's own directories have: overlayfs shows the upper dir's
// attributes, and sshd and sudo check them.
func (u upper) mkdirs(p string) error {
	parent := filepath.Dir(p)
	if _, ok := u.root[parent]; ok || parent == "/" {
		return nil
	}
	if err := u.mkdirs(parent); err != nil {
		return err
	}
	dst, err := u.path(parent)
	if err != nil {
		return err
	}
	mode, uid, gid := fs.FileMode(0o755), 0, 0
	var st syscall.Stat_t
	if syscall.Stat(parent, &st) == nil {
		mode, uid, gid = fs.FileMode(st.Mode&0o7777), int(st.Uid), int(st.Gid)
	}
	if err := os.Mkdir(dst, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	return os.Lchown(dst, uid, gid)
}

// write puts data at p, with mode and owner taken from the machine's own p
// when it has one (/etc/shadow keeps root:shadow 0640), else from mode.
func (u upper) write(p string, data []byte, mode fs.FileMode) error {
	if err := u.mkdirs(p); err != nil {
		return err
	}
	dst, err := u.path(p)
	if err != nil {
		return err
	}
	uid, gid := 0, 0
	var st syscall.Stat_t
	if syscall.Stat(p, &st) == nil {
		mode, uid, gid = fs.FileMode(st.Mode&0o7777), int(st.Uid), int(st.Gid)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Chown(dst, uid, gid); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// symlink makes p point to target, as update-alternatives would.
func (u upper) symlink(p, target string) error {
	if err := u.mkdirs(p); err != nil {
		return err
	}
	dst, err := u.path(p)
	if err != nil {
		return err
	}
	os.Remove(dst)
	if err := os.Symlink(target, dst); err != nil {
		return fmt.Errorf("link %s: %w", dst, err)
	}
	return nil
}

// remove hides the machine's p from the host with an overlayfs whiteout (a
// 0/0 character device in the upper dir).
func (u upper) remove(p string) error {
	if err := u.mkdirs(p); err != nil {
		return err
	}
	dst, err := u.path(p)
	if err != nil {
		return err
	}
	if err := unix.Mknod(dst, unix.S_IFCHR, 0); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("hide %s: %w", p, err)
	}
	return nil
}
