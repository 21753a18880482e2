//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

// mapFile is not available here: local payloads are read.
func mapFile(*os.File) (*mappedFile, error) { return nil, errors.ErrUnsupported }

func mapRange(*os.File, int64, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapRange([]byte) error { return nil }
