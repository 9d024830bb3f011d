package retrieve

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pyFloatCases are Python 3 repr() outputs, generated with
// float.hex()/repr() for fixed and seeded-random values (random.seed(7)).
var pyFloatCases = []struct {
	f    float64
	want string
}{
	{0, "0.0"},
	{math.Copysign(0, -1), "-0.0"},
	{0x1.0000000000000p+0, "1.0"},
	{0x1.0000000000000p+1, "2.0"},
	{0x1.999999999999ap-4, "0.1"},
	{0x1.3333333333334p-2, "0.30000000000000004"},
	{0x1.4f8b588e368f1p-17, "1e-05"},
	{0x1.f75104d551d69p-17, "1.5e-05"},
	{0x1.a36e2eb1c432dp-14, "0.0001"},
	{0x1.02e4b6ce5dc68p-13, "0.00012345"},
	{0x1.c6bf526340000p+49, "1000000000000000.0"},
	{0x1.1c37937e08000p+53, "1e+16"},
	{0x1.b69b4ba630f35p+56, "1.2345678901234568e+17"},
	{0x1.d6f3454800000p+26, "123456789.125"},
	{0x0.0000000000001p-1022, "5e-324"},
	{0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
	{-0x1.a000000000000p+1, "-3.25"},
	{0x1.8b0f280000000p+3, "12.345600128173828"},
	{0x1.9febc60000000p-1, "0.8123456835746765"},
	{0x1.9000000000000p+6, "100.0"},
	{0x1.0f0cf064dd592p+73, "1e+22"},
	{0x1.b1ae4d6e2ef50p+69, "1e+21"},
	{0x1.ad7f29abcaf48p-24, "1e-07"},
	{0x1.1c37937e07fffp+53, "9999999999999998.0"},
	{0x1.fffffffffffffp+52, "9007199254740991.0"},
	{0x1.a0e026f1655b2p-34, "9.478653606090632e-11"},
	{0x1.b4d5b0e18feefp-18, "6.509344730398538e-06"},
	{0x1.45571ba1aa9a0p-87, "8.212742919913083e-27"},
	{0x1.c4b37199f1e40p-82, "3.656889169125855e-25"},
	{0x1.204bf6326fb80p-90, "9.097040631431022e-28"},
	{0x1.baabac8d8d648p-62, "3.7495658441984884e-19"},
	{0x1.b67c3b6d82123p-12, "0.0004181721513707595"},
	{0x1.a25706006997cp-54, "9.071301334386507e-17"},
	{0x1.efdad860f822dp-15, "5.9110506078989155e-05"},
	{0x1.e399f60de7366p+16, "123801.96114964559"},
	{0x1.22d32acd18855p-54, "6.30625915731737e-17"},
	{0x1.2137c2d9613f1p+23, "9477089.424570056"},
	{0x1.1de8ad864521ep+19, "585541.4226403867"},
	{0x1.35633945873d0p-90, "9.762551055929201e-28"},
	{0x1.1a433c2a4bc0fp-94, "5.566648979370926e-29"},
	{0x1.1817c94851fb2p-75, "2.896092863316763e-23"},
	{0x1.46d3169aa3551p-71, "5.406858855321424e-22"},
	{0x1.2d4074be160a3p+18, "308481.8241019344"},
	{0x1.71b6e306cd3f9p+72, "6.820026947612045e+21"},
	{0x1.67fe397d6a7a6p-81, "5.816001636624662e-25"},
	{0x1.bfeb5fef7c598p+30, "1878710267.8714352"},
	{0x1.530993392aca4p-81, "5.477444657095577e-25"},
	{0x1.bf237d27a996ap-88, "5.643682931333867e-27"},
	{0x1.88d5c71a37ec5p+27, "205958712.81932655"},
	{0x1.35807db50276dp+42, "5317202465801.856"},
	{0x1.5cc5fef67838dp+61, "3.141471703767915e+18"},
	{0x1.19cfdbac3b20fp+23, "9234413.836388616"},
	{0x1.017f75b131c4bp-25, "2.997669968636823e-08"},
	{0x1.f2f3f54299f86p+63, "1.797667495831432e+19"},
	{0x1.0f0066a868800p+61, "2.4409651072215286e+18"},
	{0x1.253647964063fp+18, "300249.1185456253"},
	{0x1.180b437dbd30ep+3, "8.751374955734288"},
	{0x1.fe43f11ab8359p+51, "4488341904277932.5"},
	{0x1.75e8332ff3d8bp+26, "98017484.7492582"},
	{0x1.8c16be66e159ep-78, "5.119328306475491e-24"},
	{0x1.1e0a2d711a8ebp-67, "7.571409295652494e-21"},
	{0x1.1a104902956a0p-70, "9.332702121806375e-22"},
	{0x1.071d8e01b9fb2p-18, "3.9207257047437666e-06"},
	{0x1.2128a9084cba8p+36, "77620482180.79553"},
	{0x1.bfad3024675aap+15, "57302.59402773839"},
	{0x1.a43ab60000000p+4, "26.264333724975586"},
	{0x1.2d32960000000p+3, "9.41242504119873"},
	{0x1.4dbde60000000p+4, "20.858861923217773"},
	{0x1.1d4c2c0000000p+4, "17.831096649169922"},
	{0x1.1659860000000p+4, "17.3968563079834"},
	{0x1.b5f5060000000p+3, "13.68616008758545"},
	{0x1.932f3e0000000p+4, "25.199033737182617"},
	{0x1.c5726a0000000p+4, "28.34043312072754"},
	{0x1.c722680000000p+3, "14.222949981689453"},
	{0x1.3ecb060000000p+4, "19.9245662689209"},
}

func TestAppendPyFloat(t *testing.T) {
	for _, tc := range pyFloatCases {
		t.Run(tc.want, func(t *testing.T) {
			got, err := appendPyFloat(nil, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("appendPyFloat(%v) mismatch (-python +go):\n%s", tc.f, diff)
			}
		})
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := appendPyFloat(nil, f); err == nil {
			t.Errorf("appendPyFloat(%v): no error, want one (Python's allow_nan=False)", f)
		}
	}
}

func TestAppendPyString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`"q" \ /`, `"\"q\" \\ /"`},
		{"\n\r\t\b\f\x00\x1f\x7f", `"\n\r\t\b\f\u0000\u001f` + "\x7f" + `"`},
		{"<>&é中文\u2028\u2029😀", "\"<>&é中文\u2028\u2029😀\""},
		{"bad\xffutf8\xc3", "\"bad\uFFFDutf8\uFFFD\""},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(appendPyString(nil, tc.in))); diff != "" {
				t.Errorf("appendPyString(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// FuzzAppendPyString checks the output is JSON that decodes back to the input
// with each invalid byte replaced by U+FFFD.
func FuzzAppendPyString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\n", "é\u2028", "\xff\xfe", "\xe4\xb8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendPyString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("appendPyString(%q) = %s: not JSON: %v", s, out, err)
		}
		if want := string([]rune(s)); back != want {
			t.Fatalf("round trip of %q: got %q, want %q", s, back, want)
		}
	})
}

var pyFloatPattern = regexp.MustCompile(`^-?([0-9]+\.[0-9]+|[0-9](\.[0-9]+)?e[+-][0-9]{2,3})$`)

// FuzzAppendPyFloat checks every finite float prints in one of Python's two
// forms and parses back to the same bits.
func FuzzAppendPyFloat(f *testing.F) {
	for _, tc := range pyFloatCases {
		f.Add(math.Float64bits(tc.f))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		out, err := appendPyFloat(nil, v)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if err == nil {
				t.Fatalf("%v: no error", v)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !pyFloatPattern.Match(out) {
			t.Fatalf("%v printed as %q, not a Python float repr", v, out)
		}
		back, err := strconv.ParseFloat(string(out), 64)
		if err != nil || math.Float64bits(back) != bits {
			t.Fatalf("%v printed as %q parses back as %v (%v)", v, out, back, err)
		}
	})
}
