package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Chat template styles for ApplyChatTemplate.
const (
	// ChatQwen2 is Qwen2-Instruct's template: ChatML, with the default
	// system prompt "You are a helpful assistant." when the first message
	// is not a system message.
	ChatQwen2 = "qwen2"
	// ChatML is plain ChatML (<|im_start|>role\ncontent<|im_end|>\n), with
	// no default system prompt.
	ChatML = "chatml"
	// ChatLlama3 is Meta-Llama-3-Instruct's template: <|begin_of_text|>,
	// then <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> per
	// message with the content trimmed of surrounding whitespace.
	ChatLlama3 = "llama3"
)

const qwen2DefaultSystem = "You are a helpful assistant."

// ApplyChatTemplate renders msgs as the style's Jinja template would,
// byte for byte, ending with the assistant's header when
// addGenerationPrompt is set. Special tokens appear as text; Encode turns
// them into their ids.
func ApplyChatTemplate(style string, msgs []Message, addGenerationPrompt bool) (string, error) {
	for i, m := range msgs {
		if m.Role == "" {
			return "", fmt.Errorf("chat template %s: message %d has no role", style, i)
		}
	}
	var b strings.Builder
	switch style {
	case ChatQwen2, ChatML:
		if style == ChatQwen2 && len(msgs) > 0 && msgs[0].Role != "system" {
			b.WriteString("<|im_start|>system\n" + qwen2DefaultSystem + "<|im_end|>\n")
		}
		for _, m := range msgs {
			b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
		}
		if addGenerationPrompt {
			b.WriteString("<|im_start|>assistant\n")
		}
	case ChatLlama3:
		for i, m := range msgs {
			if i == 0 {
				b.WriteString("<|begin_of_text|>")
			}
			b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + trimPython(m.Content) + "<|eot_id|>")
		}
		if addGenerationPrompt {
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
	default:
		return "", fmt.Errorf("chat template: unknown style %q (want %s, %s or %s)", style, ChatQwen2, ChatML, ChatLlama3)
	}
	return b.String(), nil
}

// trimPython is Jinja's trim filter, Python's str.strip(): Go's
// unicode.IsSpace plus the separators U+001C..U+001F that Python counts.
func trimPython(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || 0x1C <= r && r <= 0x1F
	})
}
