package access

// Applied says how a quota was put on a process.
type Applied struct {
	// Memory and CPU describe the mechanism used, e.g. "cgroup v2
	// memory.max=1073741824" or "prlimit RLIMIT_DATA=1073741824", or "" when
	// the quota sets no such limit or the platform has none.
	Memory string
	CPU    string
	// release undoes what needs undoing once the process has exited.
	release func() error
}

// Release removes what ApplyLimits created for the process (its cgroup);
// call it after the process has exited.
func (a Applied) Release() error {
	if a.release == nil {
		return nil
	}
	return a.release()
}
