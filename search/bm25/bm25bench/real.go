package bm25bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// MixReal is the real-questions mix: HotpotQA
// dev questions over the union of their paragraphs, a corpus of its own
// beside the Zipf one.
const MixReal zipf.Mix = "real"

// RealQuestionsFile is the real mix's default question file, under the
// shared data directory.
const RealQuestionsFile = "hotpotqa/dev_distractor_400.jsonl"

// RealRecallGate is the share of questions whose supporting paragraphs
// must all be in the top 10: the gate of TestHotpotQARecall (search/bm25).
const RealRecallGate = 0.78

// realMix builds an index of the paragraphs of the question file at path
// (IRCoT-processed HotpotQA, or any file that is both a corpus and a
// question set with supporting paragraphs) in a temporary directory, then times the
// questions as a mix (repeated to nq queries) and scores retrieval: the
// share of questions with every supporting paragraph in the top k, and
// with at least one. A missing file is not an error: the report says the
// mix was skipped and why.
func realMix(ctx context.Context, log *slog.Logger, path string, nq, k, nex int) (MixReport, error) {
	rep := MixReport{Mix: MixReal, Source: path}
	if path == "" {
		p, err := shareddata.File(RealQuestionsFile)
		if err != nil {
			rep.Skipped = err.Error()
			log.Warn("bench retrieval: real mix skipped", "reason", rep.Skipped)
			return rep, nil
		}
		rep.Source, path = p, p
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		rep.Skipped = fmt.Sprintf("question file %s not found", path)
		log.Warn("bench retrieval: real mix skipped", "reason", rep.Skipped)
		return rep, nil
	}
	qs, err := eval.LoadQuestions(path)
	if err != nil {
		return rep, fmt.Errorf("real mix: %w", err)
	}
	var ps []corpus.Passage
	if _, _, err := corpus.ReadAll(ctx, []string{path}, corpus.Options{}, func(p corpus.Passage) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		return rep, fmt.Errorf("real mix: read the paragraphs: %w", err)
	}
	rep.Passages = len(ps)
	texts := make([]string, 0, len(qs))
	for _, q := range qs {
		if len(q.Supporting) == 0 {
			return rep, fmt.Errorf("real mix: question %s of %s has no supporting paragraphs to score", q.ID, path)
		}
		texts = append(texts, q.Question)
	}
	if len(texts) == 0 {
		return rep, fmt.Errorf("real mix: %s holds no questions", path)
	}
	idir, err := os.MkdirTemp("", "sleuth-bench-real-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(idir)
	if _, err := bm25.Build(ctx, idir, corpus.Seq(ps), bm25.BuildOptions{}); err != nil {
		return rep, fmt.Errorf("real mix: build: %w", err)
	}
	ix, err := bm25.OpenSharded(idir)
	if err != nil {
		return rep, fmt.Errorf("real mix: %w", err)
	}
	defer ix.Close()

	// The few hundred questions, repeated to nq, so that the timing covers
	// as many queries as a Zipf mix; the exhaustive check needs each once.
	timed := make([]string, 0, max(nq, len(texts)))
	for len(timed) < cap(timed) {
		timed = append(timed, texts[:min(len(texts), cap(timed)-len(timed))]...)
	}
	if nex <= 0 || nex > len(texts) {
		nex = len(texts)
	}
	mr, err := benchMix(ctx, ix, timed, k, nex)
	if err != nil {
		return rep, fmt.Errorf("real mix: %w", err)
	}
	mr.Mix, mr.Source, mr.Passages = rep.Mix, rep.Source, rep.Passages
	rep = mr

	hits, err := ix.Search(ctx, texts, k)
	if err != nil {
		return rep, fmt.Errorf("real mix: %w", err)
	}
	all, any := 0, 0
	for i, q := range qs {
		ids := make([]string, len(hits[i]))
		for j, h := range hits[i] {
			ids[j] = h.Passage.ID
		}
		switch r := reward.RecallAtK(ids, q.Supporting, k); {
		case r == 1:
			all++
			any++
		case r > 0:
			any++
		}
	}
	rep.Questions = len(qs)
	rep.RecallAll = float64(all) / float64(len(qs))
	rep.RecallAny = float64(any) / float64(len(qs))
	if k == 10 {
		rep.RecallGate = RealRecallGate
	}
	return rep, nil
}
