//go:build !race

package distrokid

// raceDetector says whether the tests run under the race detector.
const raceDetector = false
