package eval

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/sleuth-research/sleuth/agent"
)

// Verl rows, as verl's preprocessing of Search-R1 writes them
// (examples/data_preprocess/preprocess_search_r1_dataset.py):
//
//	data_source  "sleuth/PRESET" (compute_score reads the preset from it)
//	prompt       [{"role": "user", "content": the preset's prompt}]
//	ability      "fact-reasoning"
//	reward_model {"style": "rule", "ground_truth": {"target": [answers]}}
//	extra_info   {"index", "split", "question", "need_tools_kwargs": true,
//	              "tools_kwargs": {TOOL: {"create_kwargs": {"preset", "question", "question_id", "ground_truth": {"target"}}}},
//	              "sleuth": {"preset", "question"}}
//
// plus id, question and golden_answers at the top, as Search-R1's files
// have them, so LoadQuestions and `sleuth score` read the file back.

// VerlToolNames are the names a policy of p calls its tools by, one
// tools_kwargs entry each: the preset's tool_names, else search (and crop
// for presets with a region action).
func VerlToolNames(p agent.Preset) []string {
	var out []string
	for name := range p.ToolNames {
		out = append(out, name)
	}
	if len(out) == 0 {
		out = append(out, agent.ToolSearch)
		if p.Tags.Region != "" {
			out = append(out, agent.ToolCrop)
		}
	}
	slices.Sort(out)
	return out
}

// verlSchema is the Parquet schema of verl rows for these tool names:
// tools_kwargs is a struct with a field per tool, as pandas writes a dict.
func verlSchema(tools []string) *parquet.Schema {
	str := parquet.String()
	strs := parquet.List(parquet.String())
	target := parquet.Group{"target": strs}
	create := parquet.Group{"preset": str, "question": str, "question_id": str, "ground_truth": target}
	kw := parquet.Group{}
	for _, t := range tools {
		kw[t] = parquet.Group{"create_kwargs": create}
	}
	return parquet.NewSchema("verl", parquet.Group{
		"id":             str,
		"question":       str,
		"golden_answers": strs,
		"data_source":    str,
		"prompt":         parquet.List(parquet.Group{"role": str, "content": str}),
		"ability":        str,
		"reward_model":   parquet.Group{"style": str, "ground_truth": target},
		"extra_info": parquet.Group{
			"index":             parquet.Leaf(parquet.Int64Type),
			"split":             str,
			"question":          str,
			"need_tools_kwargs": parquet.Leaf(parquet.BooleanType),
			"tools_kwargs":      kw,
			"sleuth":            parquet.Group{"preset": str, "question": str},
		},
	})
}

// WriteVerl writes qs as verl training rows for preset p to w, in Parquet.
// Only presets whose episodes an outside policy steps with tool calls
// (mode tags, no model roles) make sense to verl.
func WriteVerl(w io.Writer, qs []Question, p agent.Preset, split string) error {
	if p.Mode != agent.ModeTags || len(p.Roles) > 0 {
		return fmt.Errorf("preset %s: verl rows need a tags-mode preset without model roles (its tools run in the environment server)", p.Name)
	}
	if len(qs) == 0 {
		return errors.New("no questions to write")
	}
	tools := VerlToolNames(p)
	pw := parquet.NewGenericWriter[any](w, verlSchema(tools))
	rows := make([]any, 0, 256)
	flush := func() error {
		if _, err := pw.Write(rows); err != nil {
			return fmt.Errorf("writing verl rows: %w", err)
		}
		rows = rows[:0]
		return nil
	}
	for i, q := range qs {
		answers := q.Answers
		if answers == nil {
			answers = []string{}
		}
		target := map[string]any{"target": answers}
		create := map[string]any{"preset": p.Name, "question": q.Question, "question_id": q.ID, "ground_truth": target}
		kw := map[string]any{}
		for _, t := range tools {
			kw[t] = map[string]any{"create_kwargs": create}
		}
		id := q.ID
		if id == "" {
			id = strconv.Itoa(i)
		}
		rows = append(rows, map[string]any{
			"id":             id,
			"question":       q.Question,
			"golden_answers": answers,
			"data_source":    "sleuth/" + p.Name,
			"prompt":         []any{map[string]any{"role": "user", "content": strings.ReplaceAll(p.Prompt, "{question}", q.Question)}},
			"ability":        "fact-reasoning",
			"reward_model":   map[string]any{"style": "rule", "ground_truth": target},
			"extra_info": map[string]any{
				"index": int64(i), "split": split, "question": q.Question, "need_tools_kwargs": true,
				"tools_kwargs": kw, "sleuth": map[string]any{"preset": p.Name, "question": q.Question},
			},
		})
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("writing verl rows: %w", err)
	}
	return nil
}
