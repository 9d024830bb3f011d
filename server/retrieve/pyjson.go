package retrieve

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// The /retrieve body is written by hand rather than with encoding/json so the
// bytes match what Search-R1's FastAPI server sends: Python's
// json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).
// encoding/json differs in three visible ways: it escapes <, > and & (even
// U+2028/U+2029 with SetEscapeHTML(false)), and it prints 2.0 as 2 and 1e-05
// as 0.00001. Clients that cache or hash responses see the same bytes from
// either server.

var errNonFinite = errors.New("score is NaN or infinite (not representable in JSON)")

const hexDigits = "0123456789abcdef"

// appendPyString appends s as a JSON string the way Python's json module does
// with ensure_ascii=False: only '"', '\\' and control characters below 0x20
// are escaped, with lowercase \u00XX for those lacking a short form. Invalid
// UTF-8 becomes U+FFFD, as Python could never hold it in a str.
func appendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is pending, needing no escapes
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else { // a byte that is not valid UTF-8
				b = utf8.AppendRune(b, utf8.RuneError)
			}
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendPyFloat appends f as Python's repr(float) prints it: the shortest
// digits that round-trip, in positional form with at least one fractional
// digit when the decimal exponent is in [-4, 16), else as d.ddde±XX.
func appendPyFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, errNonFinite
	}
	if math.Signbit(f) {
		b = append(b, '-')
		f = -f
	}
	if f == 0 {
		return append(b, '0', '.', '0'), nil
	}
	// "d.dddde±XX": split into the digit string and the decimal point position.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	ePos := len(e) - 1
	for e[ePos] != 'e' {
		ePos--
	}
	exp, _ := strconv.Atoi(string(e[ePos+1:]))
	digits := make([]byte, 0, ePos)
	for _, c := range e[:ePos] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	decpt := exp + 1 // value = 0.DIGITS × 10^decpt
	switch {
	case decpt <= -4 || decpt > 16:
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(exp), 10)
	case decpt <= 0:
		b = append(b, '0', '.')
		for range -decpt {
			b = append(b, '0')
		}
		b = append(b, digits...)
	case decpt < len(digits):
		b = append(b, digits[:decpt]...)
		b = append(b, '.')
		b = append(b, digits[decpt:]...)
	default:
		b = append(b, digits...)
		for range decpt - len(digits) {
			b = append(b, '0')
		}
		b = append(b, '.', '0')
	}
	return b, nil
}
