package miniotest

import "syscall"

// sysProcAttr makes the kernel kill MinIO when the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
