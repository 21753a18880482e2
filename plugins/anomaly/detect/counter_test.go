package detect

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cumulative builds a cumulative series from day0 with readings[i] on day
// i; a negative reading marks the day missing.
func cumulative(readings ...float64) Series {
	s := Series{Key: "7569912233445566778/tiktok/views"}
	for i, r := range readings {
		p := Point{Date: day0.AddDate(0, 0, i), Value: r}
		if r < 0 {
			p = Point{Date: p.Date, Missing: true}
		}
		s.Points = append(s.Points, p)
	}
	return s
}

func gainValues(t *testing.T, s Series) []float64 {
	t.Helper()
	out := make([]float64, len(s.Points))
	for i, p := range s.Points {
		require.Equal(t, day0.AddDate(0, 0, i), p.Date, "one point per day from the first snapshot")
		out[i] = p.Value
		if p.Missing {
			out[i] = math.NaN()
		}
	}
	return out
}

func requireSameValues(t *testing.T, want, got []float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.IsNaN(want[i]) {
			require.True(t, math.IsNaN(got[i]), "day %d: want missing, got %v", i, got[i])
			continue
		}
		require.InDelta(t, want[i], got[i], 1e-9, "day %d", i)
	}
}

func TestGains(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	cases := map[string]struct {
		in         Series
		want       []float64
		wantResets []Reset
	}{
		"daily snapshots": {
			in:   cumulative(100, 150, 230, 230, 500),
			want: []float64{nan, 50, 80, 0, 270},
		},
		"a missed snapshot is spread over the gap": {
			in:   cumulative(100, -1, 300, 330),
			want: []float64{nan, 100, 100, 30},
		},
		"a reset is flagged, not a negative gain": {
			in:         cumulative(100, 150, 230, 40, 90),
			want:       []float64{nan, 50, 80, nan, 50},
			wantResets: []Reset{{Date: day0.AddDate(0, 0, 3), Before: 230, After: 40}},
		},
		"a reset across a gap leaves the gap unknown": {
			in:         cumulative(1000, -1, -1, 900, 950),
			want:       []float64{nan, nan, nan, nan, 50},
			wantResets: []Reset{{Date: day0.AddDate(0, 0, 3), Before: 1000, After: 900}},
		},
		"leading missing days are dropped": {
			in:   cumulative(-1, -1, 10, 25),
			want: nil, // checked below by date
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, resets, err := Gains(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.in.Key, got.Key)
			require.Equal(t, tc.wantResets, resets)
			if tc.want == nil {
				require.Len(t, got.Points, 2)
				require.True(t, got.Points[0].Missing)
				require.Equal(t, day0.AddDate(0, 0, 2), got.Points[0].Date)
				require.Equal(t, Point{Date: day0.AddDate(0, 0, 3), Value: 15}, got.Points[1])
				return
			}
			requireSameValues(t, tc.want, gainValues(t, got))
			for _, p := range got.Points {
				require.False(t, p.Value < 0, "no negative gains")
			}
		})
	}
}

func TestGainsSortsAndNormalisesDates(t *testing.T) {
	t.Parallel()
	in := cumulative(10, 20, 35)
	in.Points[0], in.Points[2] = in.Points[2], in.Points[0]
	in.Points[1].Date = in.Points[1].Date.Add(23 * time.Hour)
	got, resets, err := Gains(in)
	require.NoError(t, err)
	require.Empty(t, resets)
	requireSameValues(t, []float64{math.NaN(), 10, 15}, gainValues(t, got))
}

func TestGainsRejectsBadInput(t *testing.T) {
	t.Parallel()
	dup := cumulative(10, 20)
	dup.Points[1].Date = dup.Points[0].Date.Add(time.Hour)
	_, _, err := Gains(dup)
	require.ErrorContains(t, err, "two cumulative readings for 2026-01-07; keep one per UTC day")

	neg := Series{Key: "k", Points: []Point{{Date: day0, Value: -3}}}
	_, _, err = Gains(neg)
	require.ErrorContains(t, err, "cumulative reading -3 on 2026-01-07 is not a count")

	empty, resets, err := Gains(Series{Key: "k"})
	require.NoError(t, err)
	require.Empty(t, empty.Points)
	require.Empty(t, resets)
}

// TestGainsThenDetect follows a TikTok video's view_count: bot views on
// one day, and later the platform strips views (the counter goes down).
func TestGainsThenDetect(t *testing.T) {
	t.Parallel()
	daily := daily("7569912233445566778/tiktok/views", 160, noisy(21, 3000, 0.1))
	daily.Points[100].Value = 45000 // bought views
	var total float64
	cum := Series{Key: daily.Key}
	for i, p := range daily.Points {
		total += p.Value
		if i == 130 {
			total -= 40000 // TikTok removes the fake views
		}
		reading := Point{Date: p.Date, Value: total}
		if i == 60 || i == 61 {
			reading.Missing = true // snapshots missed
		}
		cum.Points = append(cum.Points, reading)
	}

	gains, resets, err := Gains(cum)
	require.NoError(t, err)
	require.Equal(t, []Reset{{Date: daily.Points[130].Date, Before: cum.Points[129].Value, After: cum.Points[130].Value}}, resets)

	fs := detect(t, gains, Options{})
	require.Equal(t, []time.Time{daily.Points[100].Date}, dates(fs))
	require.Contains(t, fs[0].Reason, "views 45,000 on")
}
