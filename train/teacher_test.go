package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/world"
)

// teacherRun is a Run with what the teacher and the drills read: the
// preset, a world family of one world, its index and a tokenizer trained
// as a run trains it.
func teacherRun(t *testing.T, preset string) (*Run, *world.World) {
	t.Helper()
	c, err := ParseConfig("test", []byte("world: {count: 1, entities: 80, questions: 120}\ntokenizer: {vocab: 600}\nmodel: {seq_len: 1024}\npreset: "+preset+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Cfg: c, Dir: t.TempDir(), Log: io.Discard}
	if r.preset, err = agent.LoadPreset(preset); err != nil {
		t.Fatal(err)
	}
	r.proto = rl.ProtocolOf(r.preset)
	w, err := world.Generate(world.Config{Seed: 4, Entities: 80, Questions: 120})
	if err != nil {
		t.Fatal(err)
	}
	r.worlds = []*world.World{w}
	if r.tok, err = r.tokenizer(); err != nil {
		t.Fatal(err)
	}
	if r.ix, err = stepIndex(context.Background(), r.Path("index"), w); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ix.Close() })
	return r, w
}

// hashEpisodes writes every segment of eps (role, source, text, token ids)
// to h.
func hashEpisodes(h hash.Hash, eps []*agent.Episode) {
	for _, ep := range eps {
		fmt.Fprintf(h, "%s|%s|%s|%d\n", ep.ID, ep.Status, ep.Answer, ep.FormatErrors)
		for _, s := range ep.Context {
			fmt.Fprintf(h, "%s|%v|%q|%v\n", s.Role, s.Source, s.Text, s.TokenIDs)
		}
	}
}

// TestSearchR1TeacherUnchanged pins the searchr1 teacher's text and tokens
// (the tokenizer, the oracle's episodes through the real runner and
// index, the reading drills) to what they were when the protocol was
// string literals, so that reading it from the preset changed nothing the
// quickstart trains on.
func TestSearchR1TeacherUnchanged(t *testing.T) {
	r, w := teacherRun(t, "searchr1")
	h := sha256.New()
	fmt.Fprintf(h, "vocab %d\n", r.tok.VocabSize())
	for id := range r.tok.VocabSize() {
		fmt.Fprintf(h, "%q ", r.tok.DecodeToken(id))
	}
	qs := chainQuestions(w.Questions, 1, 3)[:24]
	aq := make([]agent.Question, len(qs))
	for i, q := range qs {
		aq[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	or := &agent.Runner{Preset: r.preset, Policy: rl.NewOracle(r.preset, qs, r.tok.Encode, r.tok.Decode), Tools: SearchTools(r.ix)}
	hashEpisodes(h, or.RunMany(context.Background(), aq, 4))
	rows, masks := r.readDrills(w, rand.New(rand.NewPCG(1, 2)), 3, true, 0.5)
	fmt.Fprintf(h, "%v\n%v\n", rows, masks)
	const want = "36ce84fabef940b0b83bb43e62aa22d413b2e934cb6773abd5fefd0154b7b03f"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("searchr1 teacher hash %s, want %s", got, want)
	}
}
