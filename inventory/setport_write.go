package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// rewrite replaces an inventory file with what change makes of its
// content, atomically and under a lock, so two runs that update one
// inventory at once both land. A symbolic link is followed: the file it
// points to is replaced and the link stays. The new file keeps the old
// one's mode and owner; one that cannot be kept (a file of another user's
// that this user may write) is an error, not a silent change of owner.
// check sees the candidate, beside the original under a fresh hidden name
// with the same extension, before it takes the original's place.
func rewrite(path string, change func([]byte) ([]byte, error), check func(candidate string) error) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f, err := lockCurrent(real)
	if err != nil {
		return fmt.Errorf("%s: lock: %w", real, err)
	}
	defer f.Close() // and unlock
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", real, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("%s: read: %w", real, err)
	}
	out, err := change(data)
	if err != nil {
		return err
	}
	tmp, err := writeCandidate(real, filepath.Ext(path), out, info)
	if err != nil {
		return fmt.Errorf("%s: write: %w", real, err)
	}
	defer os.Remove(tmp) // gone once renamed
	if err := check(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, real); err != nil {
		return fmt.Errorf("%s: write: %w", real, err)
	}
	return syncDir(filepath.Dir(real))
}

// lockCurrent opens path and takes an exclusive flock on it. A run that
// waited for the lock may hold the file another run has since replaced,
// so it takes the lock again on whatever the path now names.
func lockCurrent(path string) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if err := flock(f); err != nil {
			f.Close()
			return nil, err
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		now, err := os.Stat(path)
		if err == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
		if err != nil {
			return nil, err
		}
	}
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// writeCandidate writes data to a new file beside real, created
// exclusively under a random name with mode 0600, then given real's owner
// and mode, and synced to disk.
func writeCandidate(real, ext string, data []byte, info os.FileInfo) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".remedy-*"+ext)
	if err != nil {
		return "", err
	}
	err = fill(f, data, info)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func fill(f *os.File, data []byte, info os.FileInfo) error {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("cannot keep its owner (uid %d, gid %d), so it is not rewritten: %w", st.Uid, st.Gid, err)
		}
	}
	if err := f.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir makes a rename in dir last through a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", dir, err)
	}
	return nil
}
