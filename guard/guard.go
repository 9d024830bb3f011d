// Package guard screens untrusted text before an agent reads it. Retrieved
// passages, web pages and tool results may carry prompt injections:
// instructions aimed at the model ("ignore previous instructions…"), fake
// system prompts, or fake protocol tags. Screen flags such text with
// explainable rules; a preset decides whether flagged text is dropped,
// quoted or annotated. Protocol tags themselves are neutralised by the
// agent's escaping, whatever the screen says.
package guard

// Verdict is the screen's finding on one text.
type Verdict struct {
	Flagged bool     `json:"flagged"`
	Rules   []string `json:"rules,omitempty"` // names of the rules that matched
}

// Screen checks text against every rule, reading it as View shows it
// (invisible characters removed, NFKC, look-alike letters folded, encoded
// runs decoded).
func Screen(text string) Verdict {
	var v Verdict
	view := View(text)
	folded := fold(view)
	for i, r := range rules {
		if mayMatch(i, folded) && r.re.MatchString(view) && (len(v.Rules) == 0 || v.Rules[len(v.Rules)-1] != r.name) {
			v.Flagged = true
			v.Rules = append(v.Rules, r.name)
		}
	}
	return v
}

// Mode says what an agent does with flagged text.
type Mode string

const (
	Off      Mode = ""         // no screening
	Annotate Mode = "annotate" // keep the text, prefixed with a warning
	Quote    Mode = "quote"    // keep the text inside an explicit untrusted-data fence
	Drop     Mode = "drop"     // replace the text with a note that it was withheld
)

// Apply screens text and rewrites it according to mode. It reports the
// verdict so callers can count flags in their traces.
func Apply(mode Mode, text string) (string, Verdict) {
	if mode == Off {
		return text, Verdict{}
	}
	v := Screen(text)
	return Rewrite(mode, text, v), v
}
