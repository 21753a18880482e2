package distrokid

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestParseDecimalAgainstBigInt checks the exact value of random decimals,
// long fractions included (they take the 8-digits-at-a-time path), against
// math/big, and that a stray character anywhere in the fraction is refused.
func TestParseDecimalAgainstBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteByte(byte('0' + r.IntN(10)))
		}
		return sb.String()
	}
	for i := range 20000 {
		ip := digits(1 + r.IntN(6))
		frac := digits(r.IntN(15))
		s := ip
		if frac != "" || r.IntN(2) == 0 {
			s += "." + frac
		}
		neg := r.IntN(3) == 0
		if neg {
			s = "-" + s
		}
		got, comma, e := parseDecimal([]byte(s), DecimalPrecision, MoneyScale)
		if comma {
			t.Fatalf("%q: reported a decimal comma", s)
		}
		kept := frac
		if len(frac) > MoneyScale {
			if strings.Trim(frac[MoneyScale:], "0") != "" {
				if e != errTooManyDecimals {
					t.Fatalf("%q: error %v, want errTooManyDecimals", s, e)
				}
				continue
			}
			kept = frac[:MoneyScale]
		}
		if e != errNone {
			t.Fatalf("case %d %q: error %v", i, s, e)
		}
		want, _ := new(big.Int).SetString(ip+kept+strings.Repeat("0", MoneyScale-len(kept)), 10)
		if neg {
			want.Neg(want)
		}
		if want.Int64() != got {
			t.Fatalf("%q: got %d, want %s", s, got, want)
		}

		// The same number with one byte of its fraction replaced.
		if len(frac) > 0 {
			k := r.IntN(len(frac))
			bad := ip + "." + frac[:k] + string("x/-:;e"[r.IntN(6)]) + frac[k+1:]
			if _, _, e := parseDecimal([]byte(bad), DecimalPrecision, MoneyScale); e == errNone {
				t.Fatalf("%q: accepted", bad)
			}
		}
	}
}

// TestDateCacheKeepsInterleavedDates parses interleaved dates through one
// cache, as rows of several sale months come, and gets each one right.
func TestDateCacheKeepsInterleavedDates(t *testing.T) {
	var c dateCache
	months := []string{"2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-3", "2024/03", "2023-03", "2013-03"}
	for round := range 5 {
		for _, m := range months {
			got, rep, e := c.parse([]byte(m), parseSaleMonth)
			want, wrep, we := parseSaleMonth([]byte(m))
			if got != want || rep != wrep || e != we {
				t.Fatalf("round %d, %s: got (%d, %v, %v), want (%d, %v, %v)", round, m, got, rep, e, want, wrep, we)
			}
		}
	}
}

func TestFillRepeatAndOffsets(t *testing.T) {
	for _, name := range []string{"", "a", "DistroKid_1712345678901.tsv"} {
		for _, n := range []int{0, 1, 2, 3, 7, 4096, 4097} {
			got := fillRepeat([]byte("keep"), name, n)
			if want := "keep" + strings.Repeat(name, n); string(got) != want {
				t.Fatalf("fillRepeat(%q, %d) = %q", name, n, got)
			}
			offs := fillOffsets([]uint32{9}, len(name), n)
			if len(offs) != n+2 || offs[0] != 9 {
				t.Fatalf("fillOffsets(%d, %d) = %v", len(name), n, offs)
			}
			for i, o := range offs[1:] {
				if int(o) != i*len(name) {
					t.Fatalf("fillOffsets(%d, %d)[%d] = %d", len(name), n, i+1, o)
				}
			}
		}
	}
}
