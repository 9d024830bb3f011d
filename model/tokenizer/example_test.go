package tokenizer_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/model/tokenizer"
)

func ExampleTrain() {
	corpus := []string{"the river flows to the sea", "the city by the river", "<search>river city</search>"}
	tok, err := tokenizer.Train(slices.Values(corpus), 300, tokenizer.TrainOptions{
		SpecialTokens: tokenizer.DefaultSpecialTokens(),
		AddedTokens:   tokenizer.ProtocolTags(),
	})
	if err != nil {
		panic(err)
	}
	ids := tok.Encode("<search>the river</search>")
	fmt.Println(len(ids), tok.Decode(ids))
	// Output: 4 <search>the river</search>
}

func ExampleApplyChatTemplate() {
	s, _ := tokenizer.ApplyChatTemplate(tokenizer.ChatML, []tokenizer.Message{{Role: "user", Content: "Who wrote Dune?"}}, true)
	fmt.Printf("%q\n", s)
	// Output: "<|im_start|>user\nWho wrote Dune?<|im_end|>\n<|im_start|>assistant\n"
}

func ExampleStreamDecoder() {
	tok, _ := tokenizer.Train(slices.Values([]string{"plain ascii only"}), 260, tokenizer.TrainOptions{})
	ids := tok.Encode("né") // "é" is two byte-level tokens
	sd := tokenizer.NewStreamDecoder(tok, -1)
	var chunks []string
	for _, id := range ids {
		chunks = append(chunks, sd.Add(id))
	}
	chunks = append(chunks, sd.Flush())
	fmt.Printf("%q\n", strings.Join(chunks, "|"))
	// Output: "n||é|"
}
