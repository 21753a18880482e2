package access

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where a cgroup v2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// ApplyLimits puts q's memory and CPU limits on the running process pid
// (a plugin the host just started). Call it right after the process starts;
// what the process allocates before the call is not limited.
//
// Where the cgroup v2 hierarchy at /sys/fs/cgroup is writable and offers the
// memory and cpu controllers, the process moves into its own cgroup
// /sys/fs/cgroup/bedrot/plugin-<pid> with memory.max (swap off) and cpu.max
// (q.CPU cores): the kernel's OOM killer stops it past the memory, and it is
// throttled past the CPU. Otherwise (cgroup v1, containers, no root):
//
//   - memory: prlimit RLIMIT_DATA (Linux >= 4.7 counts private writable
//     mappings, i.e. heap), so allocations past it fail: a Go program dies
//     with "fatal error: out of memory" (or a SIGSEGV when the runtime's own
//     bookkeeping cannot map memory), a C program sees malloc fail. RLIMIT_AS is not used: a Go program
//     reserves about 1 GiB of address space it never uses, so an address
//     space limit near the quota would stop it at start.
//   - CPU: a lower scheduling priority (setpriority: nice 10 below 1 core,
//     5 below 2, 0 from 2), a share under contention, not a cap.
func ApplyLimits(pid int, q Quota) (Applied, error) {
	if pid <= 0 {
		return Applied{}, fmt.Errorf("cannot limit process %d: start the plugin first", pid)
	}
	if a, err := applyCgroup(pid, q); err == nil {
		return a, nil
	}
	var a Applied
	var errs []error
	if q.MemoryBytes > 0 {
		lim := uint64(q.MemoryBytes)
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: lim, Max: lim}, nil); err != nil {
			errs = append(errs, fmt.Errorf("failed to limit the memory of process %d to %d bytes: %w", pid, q.MemoryBytes, err))
		} else {
			a.Memory = "prlimit RLIMIT_DATA=" + strconv.FormatInt(q.MemoryBytes, 10)
		}
	}
	if q.CPU > 0 {
		nice := 0
		switch {
		case q.CPU < 1:
			nice = 10
		case q.CPU < 2:
			nice = 5
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, pid, nice); err != nil {
			errs = append(errs, fmt.Errorf("failed to lower the CPU priority of process %d: %w", pid, err))
		} else {
			a.CPU = "setpriority nice=" + strconv.Itoa(nice)
		}
	}
	return a, errors.Join(errs...)
}

// applyCgroup moves pid into a cgroup v2 group with q's limits.
func applyCgroup(pid int, q Quota) (Applied, error) {
	ctrl, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	if err != nil {
		return Applied{}, err
	}
	have := strings.Fields(string(ctrl))
	if !slices.Contains(have, "memory") || !slices.Contains(have, "cpu") {
		return Applied{}, errors.New("cgroup v2 lacks the memory or cpu controller")
	}
	parent := filepath.Join(cgroupRoot, "bedrot")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Applied{}, err
	}
	// Enabling controllers that are already on is harmless; a failure shows
	// up when the limit files are missing below.
	_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+memory +cpu"), 0)
	_ = os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +cpu"), 0)
	dir := filepath.Join(parent, "plugin-"+strconv.Itoa(pid))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return Applied{}, err
	}
	release := func() error { return os.Remove(dir) }
	write := func(file, value string) error {
		return os.WriteFile(filepath.Join(dir, file), []byte(value), 0)
	}
	var a Applied
	if q.MemoryBytes > 0 {
		if err := write("memory.max", strconv.FormatInt(q.MemoryBytes, 10)); err != nil {
			_ = release()
			return Applied{}, err
		}
		_ = write("memory.swap.max", "0")
		a.Memory = "cgroup v2 memory.max=" + strconv.FormatInt(q.MemoryBytes, 10)
	}
	if q.CPU > 0 {
		const period = 100000
		if err := write("cpu.max", fmt.Sprintf("%d %d", int64(q.CPU*period), period)); err != nil {
			_ = release()
			return Applied{}, err
		}
		a.CPU = fmt.Sprintf("cgroup v2 cpu.max=%g cores", q.CPU)
	}
	if err := write("cgroup.procs", strconv.Itoa(pid)); err != nil {
		_ = release()
		return Applied{}, err
	}
	a.release = release
	return a, nil
}
