package vmkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"remedy/tests/labstate"
)

// DefaultCache is where the images, the .deb caches they are built from
// and the lab key are kept between runs.
const DefaultCache = "/var/cache/remedy-vmlab"

// An image is a profile's built system: a whole-disk ext4 image every VM
// of the profile runs on through a qcow2 overlay of its own, the kernel
// and initrd qemu boots it with, and its public host keys.
type image struct {
	Name, Dir string
	HostKeys  []string // authorized_keys lines
}

func (im *image) disk() string   { return filepath.Join(im.Dir, "disk.raw") }
func (im *image) kernel() string { return filepath.Join(im.Dir, "vmlinuz") }
func (im *image) initrd() string { return filepath.Join(im.Dir, "initrd.img") }

// cache builds images on demand and keeps them, one per profile and recipe:
// a changed recipe builds a new one.
type cache struct {
	dir string
	log io.Writer // progress, one line per step
}

const (
	keyFile      = labstate.KeyFile
	passwordFile = "ops-password"
	hostKeysFile = "host_keys.pub"
	buildLog     = "build.log"
)

// image returns the image of profile name, building it and its suite's
// base system first when their recipes changed or they were never built.
func (c *cache) image(ctx context.Context, name string, egress bool) (*image, error) {
	base, err := c.base(ctx, profiles[name].suite)
	if err != nil {
		return nil, err
	}
	iname := imageName(name, egress)
	hash, err := recipeHash([]string{"image", filepath.Base(base), strconv.FormatBool(egress)},
		"profile.sh", "profiles/"+name+".sh")
	if err != nil {
		return nil, err
	}
	dir, err := c.build(ctx, "image "+iname, "image-"+iname, hash, func(tmp string) error {
		env := []string{"DEBS=" + c.debs(profiles[name].suite), "EGRESS=" + boolEnv(egress)}
		return c.run(ctx, tmp, env, "profile.sh", filepath.Join(base, "root"), tmp, name)
	})
	if err != nil {
		return nil, err
	}
	return loadImage(iname, dir)
}

// base returns the directory holding suite's base system (root/).
func (c *cache) base(ctx context.Context, suite string) (string, error) {
	pub, password, err := c.secrets()
	if err != nil {
		return "", err
	}
	hash, err := recipeHash([]string{"base", suite, pub, password}, baseFiles...)
	if err != nil {
		return "", err
	}
	return c.build(ctx, "base "+suite, "base-"+suite, hash, func(tmp string) error {
		mirror, err := machineMirror()
		if err != nil {
			return err
		}
		env := []string{"SUITE=" + suite, "MIRROR=" + mirror, "DEBS=" + c.debs(suite),
			"LABKEY=" + pub, "OPS_PASSWORD=" + password}
		return c.run(ctx, tmp, env, "base.sh", filepath.Join(tmp, "root"))
	})
}

// debs is suite's .deb cache: one per suite, because mmdebstrap's sync-out
// of two builds at once must not write the same file.
func (c *cache) debs(suite string) string { return filepath.Join(c.dir, "debs-"+suite) }

// build makes the directory name.hash with fill, unless it exists, and
// returns it. A lock makes builds of the same name from several processes
// take turns: the later ones find it built. fill works in a temporary
// directory renamed into place once complete, so a build that died leaves
// no half image behind. Older builds of name are pruned.
func (c *cache) build(ctx context.Context, what, name, hash string, fill func(tmp string) error) (string, error) {
	dir := filepath.Join(c.dir, name+"."+hash)
	err := withLock(ctx, filepath.Join(c.dir, name+".lock"), func() error {
		// Under the lock, every unfinished build of name is a dead one's.
		stale, _ := filepath.Glob(filepath.Join(c.dir, name+".*.tmp"))
		for _, d := range stale {
			if err := removeTree(d); err != nil {
				return err
			}
		}
		if _, err := os.Stat(dir); err == nil {
			return nil
		}
		tmp := dir + ".tmp"
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return fmt.Errorf("build %s: %w", what, err)
		}
		fmt.Fprintf(c.log, "vmlab: building %s\n", what)
		start := time.Now()
		if err := fill(tmp); err != nil {
			return fmt.Errorf("build %s: %w", what, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("build %s: %w", what, err)
		}
		fmt.Fprintf(c.log, "vmlab: built %s in %s\n", what, time.Since(start).Round(time.Second))
		c.prune(name, dir)
		return nil
	})
	return dir, err
}

// run runs a recipe script with env, its output kept in out/build.log and
// the end of it quoted when it fails. The script and everything it starts
// form one process group, killed when ctx ends.
func (c *cache) run(ctx context.Context, out string, env []string, script string, args ...string) error {
	dir, err := writeRecipe()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(out, buildLog)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, "sh", append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "RECIPE="+dir, "LC_ALL=C.UTF-8")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", script, err, tail(logPath, 25))
	}
	return nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// secrets returns the public half of the key that logs in to every VM as
// root and ops, and ops's sudo password, generating both the first time.
// They are part of every base system's recipe: new ones rebuild the images.
func (c *cache) secrets() (pub, password string, err error) {
	key := filepath.Join(c.dir, keyFile)
	err = withLock(context.Background(), filepath.Join(c.dir, "secrets.lock"), func() error {
		if _, err := os.Stat(filepath.Join(c.dir, passwordFile)); err != nil {
			if err := os.WriteFile(filepath.Join(c.dir, passwordFile), []byte(rand.Text()[:16]+"\n"), 0o600); err != nil {
				return fmt.Errorf("VM lab ops password: %w", err)
			}
		}
		if _, err := os.Stat(key + ".pub"); err == nil {
			return nil
		}
		os.Remove(key)
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "remedy-vmlab", "-f", key).CombinedOutput()
		if err != nil {
			return fmt.Errorf("generate the VM lab key: %w: %s", err, bytes.TrimSpace(out))
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		return "", "", fmt.Errorf("read the VM lab key: %w", err)
	}
	p, err := os.ReadFile(filepath.Join(c.dir, passwordFile))
	if err != nil {
		return "", "", fmt.Errorf("read the VM lab ops password: %w", err)
	}
	return strings.TrimSpace(string(b)), strings.TrimSpace(string(p)), nil
}

func loadImage(name, dir string) (*image, error) {
	keys, err := os.ReadFile(filepath.Join(dir, hostKeysFile))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	im := &image{Name: name, Dir: dir}
	for _, line := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
		im.HostKeys = append(im.HostKeys, line)
	}
	return im, nil
}

// keepBuilds is how many builds of one thing the cache keeps: the newest
// and the one before, so that two trees with different recipes on one
// machine do not rebuild each other's images every run.
const keepBuilds = 2

// prune removes builds of name beyond the newest keepBuilds, except
// current and any a process still uses (a VM's qemu reopens its kernel at
// every reboot).
func (c *cache) prune(name, current string) {
	dirs, _ := filepath.Glob(filepath.Join(c.dir, name+".*"))
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		fi, err := os.Stat(d)
		return d == current || strings.HasSuffix(d, ".tmp") || err != nil || !fi.IsDir()
	})
	slices.SortFunc(dirs, func(a, b string) int { return modTime(b).Compare(modTime(a)) })
	for _, d := range dirs[min(len(dirs), keepBuilds-1):] {
		if !inUse(d) {
			removeTree(d)
		}
	}
}

func modTime(p string) time.Time {
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// inUse reports whether a running process names dir on its command line.
func inUse(dir string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			return true
		}
	}
	return false
}

// removeTree removes a build directory, but never one with something
// mounted inside: the builds mount /proc and /dev in their chroots (in
// mount namespaces of their own, so this is a safety net).
func removeTree(dir string) error {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			return fmt.Errorf("remove %s: %s is mounted inside it", dir, f[4])
		}
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// withLock runs fn holding an exclusive flock on path.
func withLock(ctx context.Context, path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
