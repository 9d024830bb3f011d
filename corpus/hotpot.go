package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ContentID is the id of a passage known only by its content, such as a
// HotpotQA paragraph: "p" and the first 16 hex digits of
// sha256(title + "\x00" + text). Whoever loads a question's gold paragraphs
// computes the same id from the same title and text.
func ContentID(title, text string) string {
	h := sha256.New()
	h.Write([]byte(title))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var sum [sha256.Size]byte
	return "p" + hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// hotpotMaxWords is IRCoT's clip of a paragraph to its first 1000
// space-separated tokens.
const hotpotMaxWords = 1000

// HotpotParagraph turns an original HotpotQA context entry (a title and
// its sentences) into the title and text that the IRCoT processed files
// carry, so that ContentID agrees across both forms: the sentences are
// concatenated with "" (HotpotQA sentences keep their own leading spaces,
// and IRCoT's process_hotpotqa.py joins them with "".join), title and text
// are trimmed, and the text is clipped to its first 1000 tokens split on
// " ", as that script does.
func HotpotParagraph(title string, sentences []string) (string, string) {
	text := strings.TrimSpace(strings.Join(sentences, ""))
	if strings.Count(text, " ") >= hotpotMaxWords {
		text = strings.Join(strings.SplitN(text, " ", hotpotMaxWords+1)[:hotpotMaxWords], " ")
	}
	return strings.TrimSpace(title), text
}

// ircotRecord is one question of an IRCoT-processed HotpotQA (or 2Wiki,
// MuSiQue) file; only its paragraphs are read.
type ircotRecord struct {
	QuestionID json.RawMessage `json:"question_id"`
	Contexts   *[]struct {
		Title         *string `json:"title"`
		ParagraphText *string `json:"paragraph_text"`
	} `json:"contexts"`
}

// decodeIRCoT returns the paragraphs of one question as passages with
// content ids; the reader drops the ones seen before.
func decodeIRCoT(data []byte, _ loc) ([]Passage, error) {
	var rec ircotRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, jsonError(err)
	}
	if rec.Contexts == nil {
		return nil, missingOrEmpty("contexts", true)
	}
	qid, _ := parseID(rec.QuestionID)
	ps := make([]Passage, 0, len(*rec.Contexts))
	for i, c := range *rec.Contexts {
		if c.Title == nil {
			return nil, fmt.Errorf("contexts[%d]: %w", i, missingOrEmpty("title", true))
		}
		if c.ParagraphText == nil || *c.ParagraphText == "" {
			return nil, fmt.Errorf("contexts[%d]: %w", i, missingOrEmpty("paragraph_text", c.ParagraphText == nil))
		}
		ps = append(ps, hotpotPassage(*c.Title, *c.ParagraphText, qid))
	}
	return ps, nil
}

func hotpotPassage(title, text, qid string) Passage {
	p := Passage{ID: ContentID(title, text), Title: title, Text: text}
	if qid != "" {
		// The first question the paragraph came from: enough to trace it.
		p.Meta = map[string]string{"question_id": qid}
	}
	return p
}

// hotpotOriginal is one question of the original HotpotQA JSON; "context"
// is [[title, [sentence, ...]], ...] or, as the Hugging Face datasets
// export writes it, {"title": [...], "sentences": [[...], ...]}.
type hotpotOriginal struct {
	ID      json.RawMessage `json:"_id"`
	AltID   json.RawMessage `json:"id"`
	Context json.RawMessage `json:"context"`
}

func decodeHotpotOriginal(data []byte, _ loc) ([]Passage, error) {
	var rec hotpotOriginal
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, jsonError(err)
	}
	qid, _ := parseID(rec.ID)
	if qid == "" {
		qid, _ = parseID(rec.AltID)
	}
	ctx := bytes.TrimSpace(rec.Context)
	if len(ctx) == 0 || string(ctx) == "null" {
		return nil, missingOrEmpty("context", true)
	}
	titles, sentences, err := hotpotContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("field \"context\": %w", err)
	}
	ps := make([]Passage, 0, len(titles))
	for i := range titles {
		title, text := HotpotParagraph(titles[i], sentences[i])
		if text == "" {
			return nil, fmt.Errorf("context[%d] (%q): empty paragraph", i, title)
		}
		ps = append(ps, hotpotPassage(title, text, qid))
	}
	return ps, nil
}

// hotpotContext decodes either layout of the "context" field.
func hotpotContext(ctx []byte) (titles []string, sentences [][]string, err error) {
	if ctx[0] == '{' {
		var cols struct {
			Title     []string   `json:"title"`
			Sentences [][]string `json:"sentences"`
		}
		if err := json.Unmarshal(ctx, &cols); err != nil {
			return nil, nil, jsonError(err)
		}
		if len(cols.Title) != len(cols.Sentences) {
			return nil, nil, fmt.Errorf("%d titles but %d sentence lists", len(cols.Title), len(cols.Sentences))
		}
		return cols.Title, cols.Sentences, nil
	}
	var pairs []json.RawMessage
	if err := json.Unmarshal(ctx, &pairs); err != nil {
		return nil, nil, errors.New("want an array of [title, [sentences...]] pairs or an object")
	}
	for i, raw := range pairs {
		var pair []json.RawMessage
		var title string
		var sents []string
		if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 ||
			json.Unmarshal(pair[0], &title) != nil || json.Unmarshal(pair[1], &sents) != nil {
			return nil, nil, fmt.Errorf("element %d: want [title, [sentences...]]", i)
		}
		titles, sentences = append(titles, title), append(sentences, sents)
	}
	return titles, sentences, nil
}
