package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// decode turns one record of format f into a Question; index is the
// record's position in the file (a fallback id).
func decode(f string, data []byte, index int) (Question, error) {
	switch f {
	case FormatSearchR1:
		return decodeSearchR1(data, index)
	case FormatFlashRAG:
		return decodeFlashRAG(data, index)
	case FormatHotpotIRCoT:
		return decodeIRCoT(data, index)
	case FormatHotpotOriginal, Format2Wiki:
		return decodeHotpotLike(data, f)
	case FormatMuSiQue:
		return decodeMuSiQue(data, index)
	}
	return Question{}, fmt.Errorf("no decoder for format %q", f)
}

// searchR1Record is the verl layout Search-R1 trains on.
type searchR1Record struct {
	ID         json.RawMessage `json:"id"`
	DataSource string          `json:"data_source"`
	Prompt     []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"prompt"`
	Question      string          `json:"question"`
	GoldenAnswers json.RawMessage `json:"golden_answers"`
	RewardModel   *struct {
		GroundTruth json.RawMessage `json:"ground_truth"`
	} `json:"reward_model"`
	ExtraInfo *struct {
		Answer   json.RawMessage `json:"answer"`
		Index    json.RawMessage `json:"index"`
		Question string          `json:"question"`
		Split    string          `json:"split"`
	} `json:"extra_info"`
}

// decodeSearchR1 takes the answers from reward_model.ground_truth, except
// that a ground truth that is one string while extra_info.answer or
// golden_answers is a list (NQ: the list joined with ", ") yields the list.
func decodeSearchR1(data []byte, index int) (Question, error) {
	var r searchR1Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Question{}, err
	}
	q := Question{Dataset: r.DataSource, Question: r.Question, Meta: map[string]string{}}
	var err error
	if q.ID, err = jsonID(r.ID); err != nil {
		return Question{}, err
	}
	var extraAnswer json.RawMessage
	if e := r.ExtraInfo; e != nil {
		if q.ID == "" {
			if q.ID, err = jsonID(e.Index); err != nil {
				return Question{}, fmt.Errorf("extra_info.index: %w", err)
			}
		}
		if q.Question == "" {
			q.Question = e.Question
		}
		if e.Split != "" {
			q.Meta["split"] = e.Split
		}
		extraAnswer = e.Answer
	}
	if q.ID == "" {
		q.ID = itoa(index)
	}
	if q.Question == "" {
		for _, m := range r.Prompt {
			if m.Role == "user" {
				q.Question = m.Content
			}
		}
	}
	if r.RewardModel == nil {
		return Question{}, errors.New("no reward_model")
	}
	gt, err := groundTruth(r.RewardModel.GroundTruth)
	if err != nil {
		return Question{}, fmt.Errorf("reward_model.ground_truth: %w", err)
	}
	if len(gt) == 1 {
		for _, alt := range []json.RawMessage{extraAnswer, r.GoldenAnswers} {
			if list, err := strings1(alt); err == nil && len(list) > 1 {
				gt = list
				break
			}
		}
	}
	q.Answers = gt
	return q, nil
}

// groundTruth reads a string, a list of strings, or {"target": ...}.
func groundTruth(raw json.RawMessage) ([]string, error) {
	if ss, err := strings1(raw); err == nil {
		return ss, nil
	}
	var obj struct {
		Target json.RawMessage `json:"target"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Target == nil {
		return nil, errors.New(`want a string, a list of strings or {"target": ...}`)
	}
	return strings1(obj.Target)
}

func decodeFlashRAG(data []byte, index int) (Question, error) {
	var r struct {
		ID       json.RawMessage `json:"id"`
		Question string          `json:"question"`
		Golden   json.RawMessage `json:"golden_answers"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Question{}, err
	}
	id, err := jsonID(r.ID)
	if err != nil {
		return Question{}, err
	}
	if id == "" {
		id = itoa(index)
	}
	ans, err := strings1(r.Golden)
	if err != nil {
		return Question{}, fmt.Errorf("golden_answers: %w", err)
	}
	return Question{ID: id, Question: r.Question, Answers: ans, Dataset: FormatFlashRAG}, nil
}

// decodeIRCoT reads IRCoT's processed HotpotQA (also its 2Wiki and
// MuSiQue files): the answers are the spans of answers_objects (or their
// number or date when there are no spans), the gold passages the
// supporting contexts, with the content ids the corpus package gives them.
func decodeIRCoT(data []byte, _ int) (Question, error) {
	var r struct {
		ID       json.RawMessage `json:"question_id"`
		Question string          `json:"question_text"`
		Answers  []struct {
			Number string   `json:"number"`
			Spans  []string `json:"spans"`
			Date   struct {
				Day, Month, Year string
			} `json:"date"`
		} `json:"answers_objects"`
		Contexts []struct {
			Title        string `json:"title"`
			Text         string `json:"paragraph_text"`
			IsSupporting bool   `json:"is_supporting"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Question{}, err
	}
	id, err := jsonID(r.ID)
	if err != nil {
		return Question{}, err
	}
	q := Question{ID: id, Question: r.Question, Dataset: ircotDataset(id)}
	for _, a := range r.Answers {
		switch d := a.Date; {
		case len(a.Spans) > 0:
			q.Answers = append(q.Answers, a.Spans...)
		case a.Number != "":
			q.Answers = append(q.Answers, a.Number)
		case d.Year != "" || d.Month != "" || d.Day != "":
			q.Answers = append(q.Answers, strings.Join(strings.Fields(d.Day+" "+d.Month+" "+d.Year), " "))
		}
	}
	for _, c := range r.Contexts {
		if c.IsSupporting {
			q.Supporting = append(q.Supporting, corpus.ContentID(c.Title, c.Text))
		}
	}
	q.Hops = len(q.Supporting)
	return q, nil
}

// ircotDataset tells which dataset an IRCoT-processed question comes from
// by its id: MuSiQue ids read "2hop__…", 2WikiMultihopQA ids are 32 hex
// digits, HotpotQA ids 24.
func ircotDataset(id string) string {
	if i := strings.Index(id, "hop__"); i > 0 {
		return FormatMuSiQue
	}
	if len(id) == 32 && strings.Trim(id, "0123456789abcdef") == "" {
		return Format2Wiki
	}
	return "hotpotqa"
}

// decodeHotpotLike reads the original HotpotQA and 2WikiMultihopQA layout:
// supporting_facts name [title, sentence] pairs, and the gold passages are
// the context paragraphs with those titles, id'd as the corpus package ids
// them (corpus.HotpotParagraph, then corpus.ContentID).
func decodeHotpotLike(data []byte, format string) (Question, error) {
	var r struct {
		ID       json.RawMessage `json:"_id"`
		AltID    json.RawMessage `json:"id"`
		Question string          `json:"question"`
		Answer   json.RawMessage `json:"answer"`
		Type     string          `json:"type"`
		Level    string          `json:"level"`
		SF       json.RawMessage `json:"supporting_facts"`
		Context  json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Question{}, err
	}
	id, err := jsonID(r.ID)
	if err == nil && id == "" {
		id, err = jsonID(r.AltID)
	}
	if err != nil {
		return Question{}, err
	}
	q := Question{ID: id, Question: r.Question, Dataset: format, Meta: map[string]string{}}
	if q.Answers, err = strings1(r.Answer); err != nil {
		return Question{}, fmt.Errorf("answer: %w", err)
	}
	for k, v := range map[string]string{"type": r.Type, "level": r.Level} {
		if v != "" {
			q.Meta[k] = v
		}
	}
	titles, err := supportTitles(r.SF)
	if err != nil {
		return Question{}, fmt.Errorf("supporting_facts: %w", err)
	}
	paras, err := contextParagraphs(r.Context)
	if err != nil {
		return Question{}, fmt.Errorf("context: %w", err)
	}
	for _, t := range titles {
		p, ok := paras[t]
		if !ok {
			return Question{}, fmt.Errorf("supporting fact title %q is not in the context", t)
		}
		q.Supporting = append(q.Supporting, p)
	}
	q.Hops = len(q.Supporting)
	return q, nil
}

// supportTitles returns the distinct titles of supporting_facts, in order,
// from [[title, sent], ...] or {"title": [...], "sent_id": [...]}.
func supportTitles(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var titles []string
	var cols struct {
		Title []string `json:"title"`
	}
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, err
		}
		titles = cols.Title
	} else {
		var pairs [][]json.RawMessage
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, errors.New("want [[title, sentence index], ...]")
		}
		for i, p := range pairs {
			var t string
			if len(p) != 2 || json.Unmarshal(p[0], &t) != nil {
				return nil, fmt.Errorf("element %d: want [title, sentence index]", i)
			}
			titles = append(titles, t)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range titles {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// contextParagraphs maps each context title to its paragraph's content id.
func contextParagraphs(raw json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var titles []string
	var sents [][]string
	if raw[0] == '{' {
		var cols struct {
			Title     []string   `json:"title"`
			Sentences [][]string `json:"sentences"`
		}
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, err
		}
		if len(cols.Title) != len(cols.Sentences) {
			return nil, fmt.Errorf("%d titles but %d sentence lists", len(cols.Title), len(cols.Sentences))
		}
		titles, sents = cols.Title, cols.Sentences
	} else {
		var pairs [][]json.RawMessage
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, errors.New("want [[title, [sentences...]], ...]")
		}
		for i, p := range pairs {
			var t string
			var s []string
			if len(p) != 2 || json.Unmarshal(p[0], &t) != nil || json.Unmarshal(p[1], &s) != nil {
				return nil, fmt.Errorf("element %d: want [title, [sentences...]]", i)
			}
			titles, sents = append(titles, t), append(sents, s)
		}
	}
	for i, t := range titles {
		title, text := corpus.HotpotParagraph(t, sents[i])
		if _, dup := out[t]; !dup {
			out[t] = corpus.ContentID(title, text)
		}
	}
	return out, nil
}

// decodeMuSiQue reads MuSiQue's original JSONL: answers are the answer and
// its aliases; gold passages the supporting paragraphs; hops the length of
// the question decomposition.
func decodeMuSiQue(data []byte, _ int) (Question, error) {
	var r struct {
		ID         json.RawMessage `json:"id"`
		Question   string          `json:"question"`
		Answer     string          `json:"answer"`
		Aliases    []string        `json:"answer_aliases"`
		Answerable *bool           `json:"answerable"`
		Paragraphs []struct {
			Title        string `json:"title"`
			Text         string `json:"paragraph_text"`
			IsSupporting bool   `json:"is_supporting"`
		} `json:"paragraphs"`
		Decomposition []json.RawMessage `json:"question_decomposition"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Question{}, err
	}
	id, err := jsonID(r.ID)
	if err != nil {
		return Question{}, err
	}
	q := Question{ID: id, Question: r.Question, Dataset: FormatMuSiQue, Hops: len(r.Decomposition), Meta: map[string]string{}}
	if r.Answer != "" {
		q.Answers = append(q.Answers, r.Answer)
	}
	q.Answers = append(q.Answers, r.Aliases...)
	if r.Answerable != nil {
		q.Meta["answerable"] = fmt.Sprint(*r.Answerable)
	}
	for _, p := range r.Paragraphs {
		if p.IsSupporting {
			q.Supporting = append(q.Supporting, corpus.ContentID(p.Title, p.Text))
		}
	}
	return q, nil
}
