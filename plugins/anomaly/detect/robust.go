package detect

import (
	"math"
	"slices"
)

// madToSigma turns a median absolute deviation into a standard deviation
// for normally distributed data.
const madToSigma = 1.4826

// median returns the median of xs, reordering xs. It returns NaN for an
// empty slice.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// medianAbs returns the median of |xs|, reordering xs.
func medianAbs(xs []float64) float64 {
	for i, x := range xs {
		xs[i] = math.Abs(x)
	}
	return median(xs)
}
