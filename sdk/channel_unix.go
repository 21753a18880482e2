//go:build unix

package sdk

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// NewBatchChannel creates the batch channel of a source plugin about to be
// launched. Give plugin to the plugin's command (GiveBatchChannel), close
// it once the process started, and hand host to the SourceClient
// (SetBatchChannel).
func NewBatchChannel() (host net.Conn, plugin *os.File, err error) {
	// Like os/exec's pipes: no other child launched meanwhile inherits
	// either end.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the batch channel: %w", err)
	}
	// The plugin writes batches of a few MB: a send buffer that holds them
	// spares both processes a wake-up per 200 KiB (capped by the kernel at
	// net.core.wmem_max).
	_ = syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_SNDBUF, bulkSendBuffer)
	hf := os.NewFile(uintptr(fds[0]), "batch-channel")
	host, err = net.FileConn(hf)
	hf.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("failed to create the batch channel: %w", err)
	}
	return host, os.NewFile(uintptr(fds[1]), "batch-channel"), nil
}
