//go:build !unix

package sdk

import (
	"errors"
	"net"
	"os"
)

// NewBatchChannel is not available on this system: batches travel inline
// in the gRPC stream.
func NewBatchChannel() (host net.Conn, plugin *os.File, err error) {
	return nil, nil, errors.ErrUnsupported
}
