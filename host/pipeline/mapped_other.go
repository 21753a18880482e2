//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

// mapFile is not available here: local payloads are read.
func mapFile(*os.File) (*mappedFile, error) {
	return nil, errors.ErrUnsupported
}
