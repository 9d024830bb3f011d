// Package corpus holds the passage type every retriever indexes and the
// streaming readers that turn corpus and question files into passages.
package corpus

// Passage is one retrievable unit of text.
//
// ID is unique within a corpus. Title may be empty. Meta carries optional
// source-specific fields (for example the HotpotQA question a paragraph came
// from); readers never put large values there.
type Passage struct {
	ID    string            `json:"id"`
	Title string            `json:"title,omitempty"`
	Text  string            `json:"text"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// Contents renders the passage in the Search-R1/FlashRAG "contents" form:
// the title in double quotes, a newline, then the text. A passage without a
// title renders as its text alone.
func (p Passage) Contents() string {
	if p.Title == "" {
		return p.Text
	}
	return "\"" + p.Title + "\"\n" + p.Text
}
