package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/eval"
)

// requirePython returns python3, skipping when it is missing unless
// SLEUTH_PYTHON=1 (.ci/run sets it once python3 is installed).
func requirePython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("SLEUTH_PYTHON") == "1" {
			t.Fatal("python3 is not on PATH (SLEUTH_PYTHON=1 says it was installed)")
		}
		t.Skip("python3 is not on PATH; install Debian's python3 (.ci/run does)")
	}
	return py
}

// readParquetRows reads a Parquet file's rows as JSON objects.
func readParquetRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	rd := parquet.NewGenericReader[any](pf)
	defer rd.Close()
	var rows []map[string]any
	buf := make([]any, 64)
	for {
		n, err := rd.Read(buf)
		for _, v := range buf[:n] {
			b, _ := json.Marshal(v)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, m)
		}
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerlEpisodesThroughEnvServer exports 50 world questions as verl
// rows, serves the searchr1 environment, and has verl's tool loop (a
// stand-in with verl's signatures, integrations/verl/tests) drive whole
// episodes through sleuth_verl's tools, creating, executing and releasing
// for every tool call, and score them with sleuth_verl's compute_score.
// Every reward must equal `sleuth score` on the same answers.
func TestVerlEpisodesThroughEnvServer(t *testing.T) {
	py := requirePython(t)
	w, idx := worldIndex(t)
	dir := t.TempDir()
	// 50 questions in FlashRAG's layout.
	var qfile bytes.Buffer
	for _, q := range w.Questions[:50] {
		b, _ := json.Marshal(map[string]any{"id": q.ID, "question": q.Question, "golden_answers": q.Answers})
		qfile.Write(append(b, '\n'))
	}
	qpath := filepath.Join(dir, "questions.jsonl")
	if err := os.WriteFile(qpath, qfile.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if _, err := runCmd(t, "export", "verl", "--data", qpath, "--preset", "searchr1", "--out", data, "--split", "train"); err != nil {
		t.Fatal(err)
	}
	parquetPath := filepath.Join(data, "train.parquet")
	back, err := eval.LoadQuestions(parquetPath)
	if err != nil || len(back) != 50 || back[7].Question != w.Questions[7].Question || strings.Join(back[7].Answers, "|") != strings.Join(w.Questions[7].Answers, "|") {
		t.Fatalf("the exported file read back as %d questions (%v)", len(back), err)
	}
	rows := readParquetRows(t, parquetPath)
	var rowsJSONL bytes.Buffer
	for _, r := range rows {
		b, _ := json.Marshal(r)
		rowsJSONL.Write(append(b, '\n'))
	}
	rowsPath := filepath.Join(dir, "rows.jsonl")
	if err := os.WriteFile(rowsPath, rowsJSONL.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	kw := rows[0]["extra_info"].(map[string]any)["tools_kwargs"].(map[string]any)["search"].(map[string]any)["create_kwargs"].(map[string]any)
	if kw["preset"] != "searchr1" || kw["question"] != w.Questions[0].Question {
		t.Fatalf("tools_kwargs.search.create_kwargs = %v", kw)
	}

	es := newEnvServer(serveFlags{index: idx}, envServeFlags{presets: "searchr1", maxSessions: 1000, ttl: time.Minute})
	defer es.Close()
	ts := httptest.NewServer(withEnv(nil, es))
	defer ts.Close()

	// The shipped tool config, pointed at this server.
	var toolCfg map[string]any
	yb, err := os.ReadFile(filepath.Join("..", "..", "integrations", "verl", "config", "search_tool_config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(yb, &toolCfg); err != nil {
		t.Fatal(err)
	}
	toolCfg["tools"].([]any)[0].(map[string]any)["config"].(map[string]any)["url"] = ts.URL
	tb, _ := json.Marshal(toolCfg)
	toolsPath := filepath.Join(dir, "tools.json")
	if err := os.WriteFile(toolsPath, tb, 0o644); err != nil {
		t.Fatal(err)
	}

	outPath := filepath.Join(dir, "results.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("..", "..", "integrations", "verl", "tests", "drive_episodes.py"),
		"--rows", rowsPath, "--tools", toolsPath, "--out", outPath)
	cmd.Env = append(os.Environ(), "SLEUTH_ENV_URL="+ts.URL, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("drive_episodes.py: %v\n%s", err, out)
	}

	type result struct {
		ID        string             `json:"id"`
		Answer    string             `json:"answer"`
		Score     map[string]float64 `json:"score"`
		Searches  int                `json:"searches"`
		Session   string             `json:"session"`
		RequestID string             `json:"request_id"`
		Numbers   []int              `json:"doc_numbers"`
	}
	rb, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var results []result
	var preds bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(string(rb)), "\n") {
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
		b, _ := json.Marshal(map[string]string{"id": r.ID, "answer": r.Answer})
		preds.Write(append(b, '\n'))
	}
	if len(results) != 50 {
		t.Fatalf("%d episodes, want 50", len(results))
	}
	predPath := filepath.Join(dir, "preds.jsonl")
	if err := os.WriteFile(predPath, preds.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "score", "--data", parquetPath, "--predictions", predPath, "--json", "--per-question", "--resamples", "10")
	if err != nil {
		t.Fatal(err)
	}
	var rep eval.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	byID := map[string]eval.QuestionScore{}
	for _, q := range rep.PerQuestion {
		byID[q.ID] = q
	}
	correct := 0
	for _, r := range results {
		want := byID[r.ID]
		if r.Score["score"] != want.EM || r.Score["answer_em"] != want.EM || r.Score["answer_f1"] != want.F1 {
			t.Errorf("%s: answer %q rewarded %v, sleuth score says EM %v F1 %v", r.ID, r.Answer, r.Score, want.EM, want.F1)
		}
		correct += int(want.EM)
		// The session kept its state across create/execute/release per call:
		// documents are numbered across the episode.
		for i, n := range r.Numbers {
			if n != i+1 {
				t.Errorf("%s: documents numbered %v across %d searches", r.ID, r.Numbers, r.Searches)
				break
			}
		}
		// A search by a title may match fewer than 3 passages.
		if len(r.Numbers) < r.Searches || len(r.Numbers) > 3*r.Searches || r.Session != r.RequestID {
			t.Errorf("%s: %d documents over %d searches, session %q for request %q", r.ID, len(r.Numbers), r.Searches, r.Session, r.RequestID)
		}
	}
	t.Logf("50 episodes through verl's tool loop: %d answered right; rewards equal sleuth score's", correct)
	if t.Failed() {
		fmt.Println(string(rb))
	}
}
