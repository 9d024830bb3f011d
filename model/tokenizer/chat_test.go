package tokenizer

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected strings are the Jinja templates of Qwen2-7B-Instruct and
// Meta-Llama-3-8B-Instruct rendered by hand.
func TestApplyChatTemplate(t *testing.T) {
	t.Parallel()
	type m = Message
	tests := []struct {
		name  string
		style string
		msgs  []Message
		gen   bool
		want  string
	}{
		{"qwen2 default system", ChatQwen2, []m{{"user", "Hi"}}, true,
			"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"qwen2 own system", ChatQwen2, []m{{"system", "S"}, {"user", "Q"}, {"assistant", "A"}}, false,
			"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"},
		{"qwen2 keeps whitespace", ChatQwen2, []m{{"system", ""}, {"user", " two\n lines \n"}}, false,
			"<|im_start|>system\n<|im_end|>\n<|im_start|>user\n two\n lines \n<|im_end|>\n"},
		{"qwen2 no messages", ChatQwen2, nil, true, "<|im_start|>assistant\n"},
		{"chatml", ChatML, []m{{"user", "Hi"}}, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"llama3", ChatLlama3, []m{{"system", "S"}, {"user", "  Q \n"}}, true,
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama3 trims like python", ChatLlama3, []m{{"user", "\x1c\u00a0x y\u3000"}, {"assistant", "ok"}}, false,
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx y<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\nok<|eot_id|>"},
		{"llama3 no messages", ChatLlama3, nil, true, "<|start_header_id|>assistant<|end_header_id|>\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyChatTemplate(tc.style, tc.msgs, tc.gen)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ApplyChatTemplate("vicuna", nil, true); err == nil {
		t.Error("unknown style: no error")
	}
	if _, err := ApplyChatTemplate(ChatML, []Message{{"", "x"}}, true); err == nil {
		t.Error("empty role: no error")
	}
}

func TestChatTemplateEncodes(t *testing.T) {
	t.Parallel()
	tok := tinyBPE(t)
	s, err := ApplyChatTemplate(ChatML, []Message{{"user", "the hello"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{263, 'u', 's', 'e', 'r', '\n', 't', 257, ' ', 257, 260, 264, '\n', 263, 'a', 's', 's', 'i', 's', 't', 'a', 'n', 't', '\n'}
	if diff := cmp.Diff(want, tok.Encode(s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
