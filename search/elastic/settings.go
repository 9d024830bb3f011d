package elastic

import (
	"encoding/json"

	"github.com/sleuth-research/sleuth/search/bm25"
)

// Field names of the loaded documents. A document is
//
//	{"contents": "TITLE\nTEXT", "passage": {"title": ..., "text": ..., "meta": {...}}}
//
// with the passage id as _id. contents is the one searched field, title
// and text together, as sleuth's index scores them (one length, one avgdl);
// it is indexed but left out of _source. passage is stored, not indexed.
const (
	fieldContents = "contents"
	fieldPassage  = "passage"
)

// Settings returns the body of the create-index request: one primary shard
// (so idf and avgdl are the whole corpus's, as in sleuth's index), BM25
// with sleuth's k1 and b, and an analyzer that splits and folds as
// sleuth's does:
//
//   - tokens are maximal runs of letters, digits and combining marks
//     (a pattern tokenizer splitting on [^\p{L}\p{N}\p{M}]+);
//   - lowercase, then asciifolding (sleuth folds accents by dropping
//     nonspacing marks after NFD; asciifolding does that and also maps a
//     few letters NFD keeps, such as ß→ss, æ→ae, ø→o, ł→l);
//   - with a.Stopwords, Lucene's English stop list (_english_, the same 33
//     words); with a.Stem, the Snowball English stemmer (porter2).
//
// Scores still differ from sleuth's by a constant factor: Lucene's BM25
// leaves out the (k1+1) of the numerator, and stores document lengths in
// one byte (lossy above 40 tokens or so), so rankings agree except for
// near ties.
func Settings(p bm25.Params, a bm25.AnalyzerConfig) []byte {
	if p == (bm25.Params{}) {
		p = bm25.DefaultParams()
	}
	filters := []string{"lowercase", "asciifolding"}
	tokenFilters := map[string]any{}
	if a.Stopwords {
		filters = append(filters, "sleuth_stop")
		tokenFilters["sleuth_stop"] = map[string]any{"type": "stop", "stopwords": "_english_"}
	}
	if a.Stem {
		filters = append(filters, "sleuth_stem")
		tokenFilters["sleuth_stem"] = map[string]any{"type": "stemmer", "language": "porter2"}
	}
	analysis := map[string]any{
		"tokenizer": map[string]any{"sleuth_words": map[string]any{"type": "pattern", "pattern": `[^\p{L}\p{N}\p{M}]+`}},
		"analyzer":  map[string]any{"sleuth": map[string]any{"type": "custom", "tokenizer": "sleuth_words", "filter": filters}},
	}
	if len(tokenFilters) > 0 {
		analysis["filter"] = tokenFilters
	}
	body := map[string]any{
		"settings": map[string]any{
			"number_of_shards": 1,
			"similarity":       map[string]any{"sleuth_bm25": map[string]any{"type": "BM25", "k1": p.K1, "b": p.B}},
			"analysis":         analysis,
		},
		"mappings": map[string]any{
			"dynamic": "strict",
			"_source": map[string]any{"excludes": []string{fieldContents}},
			"properties": map[string]any{
				fieldContents: map[string]any{"type": "text", "analyzer": "sleuth", "similarity": "sleuth_bm25"},
				fieldPassage:  map[string]any{"type": "object", "enabled": false},
			},
		},
	}
	b, _ := json.MarshalIndent(body, "", "  ") // maps of strings and numbers: cannot fail
	return b
}
