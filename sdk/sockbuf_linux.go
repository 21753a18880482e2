//go:build linux

package sdk

import (
	"os"
	"strconv"
	"syscall"
)

// raiseSendBuffers asks for a send buffer of at least n bytes on the Unix
// stream sockets of this process connected to peer, or on all of them if
// peer is "". A plugin's only such sockets are its connection to the host
// (go-plugin serves gRPC on a Unix socket) and the listener; a host names
// the plugin's socket. The kernel caps the value at net.core.wmem_max.
//
// go-plugin gives no hook on the connections, so the sockets are found
// through /proc/self/fd. An fd closed and reused meanwhile is checked again
// (it must still be a Unix stream socket), and a larger buffer only lets
// more unread bytes wait in the kernel.
func raiseSendBuffers(n int, peer string) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
			continue
		}
		if d, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_DOMAIN); err != nil || d != syscall.AF_UNIX {
			continue
		}
		if t, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || t != syscall.SOCK_STREAM {
			continue
		}
		if peer != "" {
			sa, err := syscall.Getpeername(fd)
			if u, ok := sa.(*syscall.SockaddrUnix); err != nil || !ok || u.Name != peer {
				continue
			}
		}
		// Linux reports twice the size it was asked for (the doubling
		// covers its bookkeeping), so a socket already raised is left be.
		if cur, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF); err == nil && cur >= n {
			continue
		}
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
	}
}
