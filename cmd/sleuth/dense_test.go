package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/backend"
	"github.com/sleuth-research/sleuth/search/dense/densebench"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
	"github.com/sleuth-research/sleuth/server/openai"
)

// denseWorld builds the world's BM25 index, embeds its corpus through the
// loopback embeddings double with `sleuth dense index`, and returns the
// paths and the double.
func denseWorld(t *testing.T) (question, bm25Dir, denseDir, embedURL string, emb *densetest.Server) {
	t.Helper()
	w, index := worldIndex(t)
	corpusPath := filepath.Join(t.TempDir(), "corpus.jsonl")
	f, err := os.Create(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, p := range w.Passages {
		enc.Encode(p)
	}
	f.Close()
	emb = &densetest.Server{Dim: 96}
	srv := httptest.NewServer(emb)
	t.Cleanup(srv.Close)
	denseDir = filepath.Join(t.TempDir(), "dense")
	out, err := runCmd(t, "dense", "index", "--corpus", corpusPath, "--embed", srv.URL+"/v1", "--out", denseDir, "--json")
	if err != nil {
		t.Fatalf("dense index: %v\n%s", err, out)
	}
	var sum denseSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Vectors != len(w.Passages) || sum.Dim != 96 {
		t.Fatalf("dense index summary %s (%v)", out, err)
	}
	return w.Questions[0].Question, index, denseDir, srv.URL + "/v1", emb
}

// TestAskHybridOverLoopback runs `sleuth ask --retriever hybrid` (and
// dense) end to end: BM25 fused with a dense index whose queries are
// embedded by a server speaking the OpenAI embeddings wire format.
func TestAskHybridOverLoopback(t *testing.T) {
	q, index, denseDir, embedURL, emb := denseWorld(t)
	pol := httptest.NewServer(openai.New(protocolBackend{}, openai.Config{Model: "scripted"}))
	defer pol.Close()
	for _, kind := range []string{"hybrid", "dense"} {
		out, err := runCmd(t, "ask", q, "--preset", "searchr1", "--index", index, "--dense-index", denseDir,
			"--embed", embedURL, "--retriever", kind, "--llm", pol.URL+"/v1", "--json")
		if err != nil {
			t.Fatalf("%s: %v\n%s", kind, err, out)
		}
		var res askResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.Answer != "Tarsk" || res.Status != agent.Answered || len(res.Evidence) == 0 {
			t.Fatalf("%s: result %+v", kind, res)
		}
	}
	queried := 0
	for _, r := range emb.Requests() {
		if len(r.Input) == 1 && strings.HasPrefix(r.Input[0], "query: ") {
			queried++
		}
	}
	if queried != 2 {
		t.Errorf("the embeddings server saw %d query embeddings, want one per ask", queried)
	}
	if _, err := runCmd(t, "ask", q, "--retriever", "hybrid", "--dense-index", denseDir, "--embed", embedURL, "--llm", pol.URL+"/v1"); err == nil || !strings.Contains(err.Error(), "--index") {
		t.Errorf("hybrid without --index: err = %v", err)
	}
}

// TestServeDenseAndHybrid serves BM25, dense and hybrid from one /retrieve.
func TestServeDenseAndHybrid(t *testing.T) {
	q, index, denseDir, embedURL, _ := denseWorld(t)
	f := serveFlags{index: index, topk: 3, maxTopK: 20, maxQueries: 8}
	f.dense = denseFlags{retriever: backend.Hybrid, denseIndex: denseDir, embed: embedURL, queryPrefix: "query: ", fusion: "rrf"}
	h, closeFn, err := buildServeHandler(f)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, kind := range []string{"", `,"retriever":"bm25"`, `,"retriever":"dense"`, `,"retriever":"hybrid"`} {
		status, b := postJSON(t, srv.URL+"/retrieve", `{"queries":[`+jsonString(q)+`],"topk":3,"return_scores":true`+kind+`}`)
		var got struct {
			Result [][]struct {
				Document struct{ ID, Contents string }
				Score    float64
			}
		}
		if status != 200 || json.Unmarshal(b, &got) != nil || len(got.Result) != 1 || len(got.Result[0]) != 3 || !strings.HasPrefix(got.Result[0][0].Document.Contents, `"`) {
			t.Errorf("retriever%s: %d %s", kind, status, b)
		}
	}
	// Only a dense index: dense answers by default.
	f = serveFlags{topk: 3, maxTopK: 20, maxQueries: 8}
	f.dense = denseFlags{retriever: backend.BM25, denseIndex: denseDir, embed: embedURL, fusion: "rrf"}
	h2, close2, err := buildServeHandler(f)
	if err != nil {
		t.Fatal(err)
	}
	defer close2()
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	if status, b := postJSON(t, srv2.URL+"/retrieve", `{"queries":["x"],"topk":2}`); status != 200 {
		t.Errorf("dense-only server: %d %s", status, b)
	}
}

// TestDenseImportCmd imports the shared e5 FAISS file with its passages.
func TestDenseImportCmd(t *testing.T) {
	t.Parallel()
	fp := shareddata.Path(t, "corpus/wiki18_sample_1000.e5.faissflat")
	cp := shareddata.Path(t, "corpus/wiki18_sample_1000.jsonl")
	out, err := runCmd(t, "dense", "import", "--faiss", fp, "--corpus", cp, "--out", filepath.Join(t.TempDir(), "d"), "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var sum denseSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Vectors != 1000 || sum.Dim != 768 {
		t.Fatalf("summary %s (%v)", out, err)
	}
}

// TestDenseIndexLocalEncoder embeds with the in-process BERT engine (the
// tiny random model of search/dense/bert's parity test: plumbing only).
func TestDenseIndexLocalEncoder(t *testing.T) {
	t.Parallel()
	corpusPath := filepath.Join(t.TempDir(), "c.jsonl")
	os.WriteFile(corpusPath, []byte(`{"id":"1","title":"Paris","text":"the capital of france is paris."}
{"id":"2","title":"Hamlet","text":"who wrote hamlet? a play."}
`), 0o644)
	out, err := runCmd(t, "dense", "index", "--corpus", corpusPath, "--embed", "local:../../search/dense/bert/testdata/tiny", "--out", filepath.Join(t.TempDir(), "d"), "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var sum denseSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Vectors != 2 || sum.Dim != 32 {
		t.Fatalf("summary %s (%v)", out, err)
	}
}

// TestBenchDenseHotpot runs `bench dense --set hotpotqa` with the loopback
// embeddings double as the dense side: four rows, BM25 at its calibrated
// recall.
func TestBenchDenseHotpot(t *testing.T) {
	t.Parallel()
	shareddata.Path(t, "hotpotqa/dev_distractor_400.jsonl")
	srv := httptest.NewServer(&densetest.Server{Dim: 64})
	defer srv.Close()
	out, err := runCmd(t, "bench", "dense", "--set", "hotpotqa", "--embed", srv.URL+"/v1", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep densebench.HotpotReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if rep.Questions != 400 || rep.Passages != 3868 || len(rep.Rows) != 4 || rep.Plumbing {
		t.Fatalf("report %+v", rep)
	}
	if bm := rep.Rows[0]; bm.Retriever != "bm25" || bm.Both < 0.78 || bm.AtLeast1 < bm.Both {
		t.Errorf("bm25 row %+v: want both ≥ 0.78 (plain BM25 reference 0.797)", bm)
	}
}

// TestBenchDenseHotpotSkips: without the shared data the mode says it
// skipped, and does not fail.
func TestBenchDenseHotpotSkips(t *testing.T) {
	t.Setenv("SLEUTH_SHARED_DATA", t.TempDir())
	out, err := runCmd(t, "bench", "dense", "--set", "hotpotqa", "--embed", "http://127.0.0.1:1/v1")
	if err != nil || !strings.Contains(out, "skipped") {
		t.Errorf("without the data: %v\n%s", err, out)
	}
}
