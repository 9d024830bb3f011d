package fetch

import (
	"strconv"
	"strings"
)

// rgba is a parsed CSS colour; a is 0..1.
type rgba struct {
	r, g, b int
	a       float64
}

var namedColors = map[string]rgba{
	"white": {255, 255, 255, 1}, "black": {0, 0, 0, 1}, "red": {255, 0, 0, 1},
	"green": {0, 128, 0, 1}, "blue": {0, 0, 255, 1}, "yellow": {255, 255, 0, 1},
	"gray": {128, 128, 128, 1}, "grey": {128, 128, 128, 1}, "silver": {192, 192, 192, 1},
	"navy": {0, 0, 128, 1}, "maroon": {128, 0, 0, 1}, "purple": {128, 0, 128, 1},
	"teal": {0, 128, 128, 1}, "olive": {128, 128, 0, 1}, "lime": {0, 255, 0, 1},
	"aqua": {0, 255, 255, 1}, "cyan": {0, 255, 255, 1}, "fuchsia": {255, 0, 255, 1},
	"magenta": {255, 0, 255, 1}, "orange": {255, 165, 0, 1}, "snow": {255, 250, 250, 1},
	"whitesmoke": {245, 245, 245, 1}, "ivory": {255, 255, 240, 1}, "ghostwhite": {248, 248, 255, 1},
	"azure": {240, 255, 255, 1}, "mintcream": {245, 255, 250, 1}, "floralwhite": {255, 250, 240, 1},
	"linen": {250, 240, 230, 1}, "lightgray": {211, 211, 211, 1}, "lightgrey": {211, 211, 211, 1},
	"darkgray": {169, 169, 169, 1}, "dimgray": {105, 105, 105, 1}, "transparent": {0, 0, 0, 0},
}

// parseColor understands #rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba() and
// the common names. Anything else (hsl, currentcolor, var()) is unknown.
func parseColor(s string) (rgba, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := namedColors[s]; ok {
		return c, true
	}
	if h, ok := strings.CutPrefix(s, "#"); ok {
		return parseHexColor(h)
	}
	var args string
	if a, ok := strings.CutPrefix(s, "rgba("); ok {
		args = a
	} else if a, ok := strings.CutPrefix(s, "rgb("); ok {
		args = a
	} else {
		return rgba{}, false
	}
	args, ok := strings.CutSuffix(args, ")")
	if !ok {
		return rgba{}, false
	}
	parts := strings.FieldsFunc(args, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(parts) != 3 && len(parts) != 4 {
		return rgba{}, false
	}
	var ch [3]int
	for i := 0; i < 3; i++ {
		v, ok := colorChannel(parts[i])
		if !ok {
			return rgba{}, false
		}
		ch[i] = v
	}
	a := 1.0
	if len(parts) == 4 {
		p := parts[3]
		pct := strings.HasSuffix(p, "%")
		f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
		if err != nil {
			return rgba{}, false
		}
		if pct {
			f /= 100
		}
		a = f
	}
	return rgba{ch[0], ch[1], ch[2], a}, true
}

func colorChannel(p string) (int, bool) {
	pct := strings.HasSuffix(p, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
	if err != nil || f != f {
		return 0, false
	}
	if pct {
		f = f * 255 / 100
	}
	return int(min(max(f, 0), 255) + 0.5), true
}

func parseHexColor(h string) (rgba, bool) {
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return rgba{}, false
	}
	x := int(n)
	switch len(h) {
	case 3:
		return rgba{(x >> 8 & 15) * 17, (x >> 4 & 15) * 17, (x & 15) * 17, 1}, true
	case 4:
		return rgba{(x >> 12 & 15) * 17, (x >> 8 & 15) * 17, (x >> 4 & 15) * 17, float64(x&15) / 15}, true
	case 6:
		return rgba{x >> 16 & 255, x >> 8 & 255, x & 255, 1}, true
	case 8:
		return rgba{x >> 24 & 255, x >> 16 & 255, x >> 8 & 255, float64(x&255) / 255}, true
	}
	return rgba{}, false
}

// backgroundColor finds the colour in a background or background-color
// value ("#fff url(x.png) no-repeat" gives #fff).
func backgroundColor(d map[string]string) (rgba, bool) {
	if v, ok := d["background-color"]; ok {
		return parseColor(v)
	}
	for _, tok := range strings.Fields(d["background"]) {
		if c, ok := parseColor(tok); ok {
			return c, true
		}
	}
	return rgba{}, false
}

// invisibleOn reports whether text of colour fg cannot be told from bg:
// transparent, or within a few steps per channel.
func invisibleOn(fg, bg rgba) bool {
	if fg.a <= 0.05 {
		return true
	}
	d := abs(fg.r-bg.r) + abs(fg.g-bg.g) + abs(fg.b-bg.b)
	return d <= 24
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// textColor returns the colour text is painted in, if d sets one:
// -webkit-text-fill-color overrides color unless the background shows
// through the glyphs (background-clip: text, gradient text).
func textColor(d map[string]string) (string, bool) {
	if v, ok := d["-webkit-text-fill-color"]; ok && !strings.Contains(d["background-clip"]+d["-webkit-background-clip"], "text") {
		return v, true
	}
	v, ok := d["color"]
	return v, ok
}
