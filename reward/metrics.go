package reward

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the one place answers are normalised and compared. It follows
// the official HotpotQA script (hotpot_evaluate_v1.py), which shares SQuAD
// v1.1's normalisation, down to Python's string semantics: str.lower()
// (with its special cases), the ASCII string.punctuation set, the Unicode \b
// of Python 3's re for the article rule, and str.split()'s whitespace set.
// Scores computed here equal the script's bit for bit.

// Normalize lowercases s, drops ASCII punctuation, drops the articles a, an
// and the, and collapses whitespace to single spaces.
func Normalize(s string) string {
	return strings.Join(pyFields(removeArticles(removePunct(pyLower(s)))), " ")
}

// Tokens returns the whitespace tokens of Normalize(s).
func Tokens(s string) []string {
	return pyFields(removeArticles(removePunct(pyLower(s))))
}

// ExactMatch reports whether prediction and gold normalise to the same text.
func ExactMatch(prediction, gold string) bool {
	return Normalize(prediction) == Normalize(gold)
}

// PRF is a precision, recall and F1.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// TokenF1 is the HotpotQA token-overlap score of prediction against gold.
// As in the official script, when either side normalises to yes, no or
// noanswer and the two differ, the score is zero; two empty answers also
// score zero (no common token), although they match exactly.
func TokenF1(prediction, gold string) PRF {
	np, ng := Normalize(prediction), Normalize(gold)
	if (isSpecial(np) || isSpecial(ng)) && np != ng {
		return PRF{}
	}
	pt, gt := strings.Fields(np), strings.Fields(ng)
	counts := make(map[string]int, len(gt))
	for _, t := range gt {
		counts[t]++
	}
	same := 0
	for _, t := range pt {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return PRF{}
	}
	// The same operations in the same order as the script, so the floats
	// agree exactly.
	p := 1.0 * float64(same) / float64(len(pt))
	r := 1.0 * float64(same) / float64(len(gt))
	return PRF{Precision: p, Recall: r, F1: (2 * p * r) / (p + r)}
}

func isSpecial(s string) bool { return s == "yes" || s == "no" || s == "noanswer" }

// CoverEM reports whether the normalised gold occurs in the normalised
// prediction (Search-R1's substring match). An empty gold never covers.
func CoverEM(prediction, gold string) bool {
	ng := Normalize(gold)
	return ng != "" && strings.Contains(Normalize(prediction), ng)
}

// AnswerScore is a prediction scored against its best-matching gold answer.
type AnswerScore struct {
	EM      float64 `json:"em"`
	F1      float64 `json:"f1"`
	Prec    float64 `json:"precision"`
	Recall  float64 `json:"recall"`
	CoverEM float64 `json:"cover_em"`
}

// ScoreAnswer takes, for each metric separately, the maximum over the gold
// answers (SQuAD's metric_max_over_ground_truths); precision and recall are
// those of the gold with the best F1. No gold answers score zero.
func ScoreAnswer(prediction string, golds []string) AnswerScore {
	var s AnswerScore
	bestF1 := -1.0
	for _, g := range golds {
		if ExactMatch(prediction, g) {
			s.EM = 1
		}
		if CoverEM(prediction, g) {
			s.CoverEM = 1
		}
		if f := TokenF1(prediction, g); f.F1 > bestF1 {
			bestF1 = f.F1
			s.F1, s.Prec, s.Recall = f.F1, f.Precision, f.Recall
		}
	}
	return s
}

// SetPRF scores predicted ids against gold ids as sets, as the HotpotQA
// script scores supporting facts: duplicates count once, an empty side
// gives zero precision or recall. exact is 1 when the sets are equal.
func SetPRF(predicted, gold []string) (s PRF, exact float64) {
	g := make(map[string]bool, len(gold))
	for _, id := range gold {
		g[id] = true
	}
	seen := make(map[string]bool, len(predicted))
	tp, fp := 0, 0
	for _, id := range predicted {
		if seen[id] {
			continue
		}
		seen[id] = true
		if g[id] {
			tp++
		} else {
			fp++
		}
	}
	fn := len(g) - tp
	if tp+fp > 0 {
		s.Precision = 1.0 * float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		s.Recall = 1.0 * float64(tp) / float64(tp+fn)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	if fp+fn == 0 {
		exact = 1
	}
	return s, exact
}

// RecallAtK is the fraction of the distinct gold ids among the first k
// ranked ids (all of them when k <= 0). No gold gives zero.
func RecallAtK(ranked, gold []string, k int) float64 {
	g := set(gold)
	if len(g) == 0 {
		return 0
	}
	if k <= 0 || k > len(ranked) {
		k = len(ranked)
	}
	found := map[string]bool{}
	for _, id := range ranked[:k] {
		if g[id] {
			found[id] = true
		}
	}
	return float64(len(found)) / float64(len(g))
}

// NDCGAtK is the normalised discounted cumulative gain of the first k
// ranked ids with binary relevance and the log2(rank+1) discount: DCG sums
// 1/log2(i+2) over relevant positions i (0-based, a repeated id counting
// once), IDCG is the DCG of min(k, |gold|) relevant ids at the top. k <= 0
// means all of ranked.
func NDCGAtK(ranked, gold []string, k int) float64 {
	g := set(gold)
	if len(g) == 0 {
		return 0
	}
	if k <= 0 {
		k = max(len(ranked), len(g))
	}
	dcg := 0.0
	seen := map[string]bool{}
	for i, id := range ranked[:min(k, len(ranked))] {
		if g[id] && !seen[id] {
			seen[id] = true
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	idcg := 0.0
	for i := range min(k, len(g)) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// pyPunct is Python's string.punctuation.
const pyPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func removePunct(s string) string {
	if !strings.ContainsAny(s, pyPunct) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && strings.IndexByte(pyPunct, byte(r)) >= 0 {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// removeArticles replaces every maximal run of word characters that is a,
// an or the with a space: exactly what re.sub(r'\b(a|an|the)\b', ' ', s)
// does, since \b(X)\b with X all word characters matches a whole run.
func removeArticles(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := -1 // start of the current word run
	flush := func(end int) {
		switch w := s[start:end]; w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		start = -1
	}
	for i, r := range s {
		if pyWord(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(i)
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		flush(len(s))
	}
	return b.String()
}

// pyWord is Python 3's \w for str patterns: alphanumeric (letters and
// numbers of any script) or underscore. Combining marks are not word
// characters.
func pyWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pySpace is Python's str.isspace, which str.split() splits on: Go's
// unicode.IsSpace plus the ASCII separators U+001C to U+001F.
func pySpace(r rune) bool {
	return (r >= 0x1c && r <= 0x1f) || unicode.IsSpace(r)
}

func pyFields(s string) []string { return strings.FieldsFunc(s, pySpace) }

// pyLower is Python's str.lower(): the simple lowercase mapping, except
// that U+0130 becomes "i̇" and a capital sigma at the end of a word
// becomes the final sigma ς (Unicode's Final_Sigma condition).
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3a3:
			if finalSigma(rs, i) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is the Final_Sigma condition: a cased letter before (skipping
// case-ignorable characters) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
