package pluginhost

import (
	"os"
	"os/exec"
	"syscall"
)

// setDeathSignal asks the kernel to SIGKILL the plugin when the host dies.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS reads the peak resident set size (Linux reports KiB).
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}
