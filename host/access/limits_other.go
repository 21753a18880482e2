//go:build !linux

package access

// ApplyLimits enforces nothing outside Linux: it returns an empty Applied.
func ApplyLimits(pid int, q Quota) (Applied, error) {
	return Applied{}, nil
}
