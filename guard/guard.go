// Package guard screens untrusted text before an agent reads it. Retrieved
// passages, web pages and tool results may carry prompt injections:
// instructions aimed at the model ("ignore previous instructions…"), fake
// system prompts, or fake protocol tags. Screen flags such text with
// explainable rules; a preset decides whether flagged text is dropped,
// quoted or annotated. Protocol tags themselves are neutralised by the
// agent's escaping, whatever the screen says.
package guard

import (
	"regexp"
)

// Verdict is the screen's finding on one text.
type Verdict struct {
	Flagged bool     `json:"flagged"`
	Rules   []string `json:"rules,omitempty"` // names of the rules that matched
}

type rule struct {
	name string
	re   *regexp.Regexp
}

// rules are deliberately specific: ordinary encyclopedic text ("the
// previous king ignored the treaty") must pass.
var rules = []rule{
	{"override", regexp.MustCompile(`(?i)\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your)\b[^.\n]{0,20}\b(instructions?|prompts?|rules|directions|guidelines|context)\b`)},
	{"new-instructions", regexp.MustCompile(`(?i)\b(new|updated|real|actual)\s+(instructions?|task|system prompt)\s*[:：]`)},
	{"role-claim", regexp.MustCompile(`(?im)^\s*(\[?\s*(system|assistant|developer)\s*\]?\s*[:：]|#{2,}\s*(system|instruction)s?\b)`)},
	{"impersonation", regexp.MustCompile(`(?i)\b(you are now|from now on,? you|act as (an?|the) (ai|assistant|model)|as an ai language model)\b`)},
	{"answer-forcing", regexp.MustCompile(`(?i)\b(the (final |correct |real |true )?answer (to (the|your) (user'?s )?question )?(is|must be) always|the correct answer to (the|your) (user'?s )?question is|(answer|respond|reply) (only )?with|do not (search|look) (any )?further|stop searching)\b`)},
	{"addressing-ai", regexp.MustCompile(`(?i)\b((ai|llm|language model|research) (agents?|assistants?|models?|bots?) (reading|visiting|processing) this|disregard (your|the) (task|question|goal))\b`)},
	{"exfiltration", regexp.MustCompile(`(?i)\b(reveal|print|repeat|output)\b[^.\n]{0,30}\b(system prompt|your instructions|hidden prompt)\b`)},
	{"protocol-tag", regexp.MustCompile(`(?i)[<‹]\s*/?\s*(answer|search|information|think|tool_call|tool_response|im_start|im_end)\b`)},
	{"chat-token", regexp.MustCompile(`<\|[a-z_]+\|>|‹\|[a-z_]+\|›`)},
}

// Screen checks text against every rule.
func Screen(text string) Verdict {
	var v Verdict
	for _, r := range rules {
		if r.re.MatchString(text) {
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
