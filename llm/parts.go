package llm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Part is one part of a chat message's content in the OpenAI vision
// format: {"type":"text","text":…} or
// {"type":"image_url","image_url":{"url":"data:image/png;base64,…"}}.
type Part struct {
	Type     string    `json:"type"` // "text" or "image_url"
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is an image part's image: an http(s) URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"` // "low", "high" or "auto"; empty leaves the server's default
}

// TextPart is a text content part.
func TextPart(text string) Part { return Part{Type: "text", Text: text} }

// ImagePart is an image content part for url (often a data: URL).
func ImagePart(url string) Part { return Part{Type: "image_url", ImageURL: &ImageURL{URL: url}} }

// wireMessage is a Message on the wire, its content a string or parts.
type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// MarshalJSON writes content as a string, or as an array of parts when
// the message has Parts.
func (m Message) MarshalJSON() ([]byte, error) {
	var content any = m.Content
	if len(m.Parts) > 0 {
		content = m.Parts
	}
	c, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wireMessage{Role: m.Role, Content: c})
}

// UnmarshalJSON reads content given as a string, null, or an array of
// parts; with parts, Content gets their text joined by newlines, so
// text-only backends still read the message.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w wireMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Message{Role: w.Role}
	c := strings.TrimSpace(string(w.Content))
	switch {
	case c == "" || c == "null":
	case c[0] == '"':
		return json.Unmarshal(w.Content, &m.Content)
	case c[0] == '[':
		if err := json.Unmarshal(w.Content, &m.Parts); err != nil {
			return fmt.Errorf("message content parts: %w", err)
		}
		var texts []string
		for i, p := range m.Parts {
			switch p.Type {
			case "text":
				texts = append(texts, p.Text)
			case "image_url":
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return fmt.Errorf("message content part %d: image_url without a url", i)
				}
			default:
				return fmt.Errorf("message content part %d: unknown type %q", i, p.Type)
			}
		}
		m.Content = strings.Join(texts, "\n")
	default:
		return fmt.Errorf("message content must be a string or an array of parts, not %.20s", c)
	}
	return nil
}
