package detect

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkDetect365 judges one year of one series, as the agent does per
// track and platform.
func BenchmarkDetect365(b *testing.B) {
	s, _ := Synthetic(1, 365, 30, SynthOptions{Base: 5000, Trend: 1})
	b.ReportAllocs()
	for b.Loop() {
		fs, err := Detect(s, Options{})
		require.NoError(b, err)
		require.NotEmpty(b, fs)
	}
}

// BenchmarkDetectorObserve is the cost of one more day for a long-running
// detector: it replays a synthetic year again and again, a year later
// each time.
func BenchmarkDetectorObserve(b *testing.B) {
	s, _ := Synthetic(2, 364, 30, SynthOptions{Base: 5000})
	d, err := NewDetector(s.Key, Options{})
	require.NoError(b, err)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := s.Points[i%len(s.Points)]
		p.Date = p.Date.AddDate(0, 0, 364*(i/len(s.Points)))
		if _, _, err := d.Observe(p); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
