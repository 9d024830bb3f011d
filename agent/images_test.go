package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/vision"
	"github.com/sleuth-research/sleuth/world"
)

// turnScript is a policy that plays fixed turns in order, whatever the
// prompt, and keeps every request (text prompts and chat messages).
type turnScript struct {
	mu    sync.Mutex
	turns []string
	reqs  []llm.Request
}

func (s *turnScript) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := "<answer>none</answer>"
	if n := len(s.reqs); n < len(s.turns) {
		out = s.turns[n]
	}
	s.reqs = append(s.reqs, req)
	c := llm.Choice{Text: out, FinishReason: "length"}
	for _, st := range req.Stop {
		if i := strings.Index(out, st); i >= 0 {
			c = llm.Choice{Text: out[:i], FinishReason: "stop", StopString: st}
			break
		}
	}
	return llm.Response{Choices: []llm.Choice{c}, Usage: llm.Usage{PromptTokens: 10, CompletionTokens: len(out) / 4}}, nil
}

// worldPages is a small generated world indexed by BM25: its passages are
// the page corpus, rendered on demand.
func worldPages(t *testing.T) (*world.World, search.Retriever) {
	t.Helper()
	w, err := world.Generate(world.Config{Seed: 5, Entities: 60, Questions: 10})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "index")
	seq := func(yield func(corpus.Passage, error) bool) {
		for _, p := range w.Passages {
			if !yield(p, nil) {
				return
			}
		}
	}
	if _, err := bm25.Build(context.Background(), dir, seq, bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return w, ix
}

func vragRunner(t *testing.T, pol llm.Client, search Tool) *Runner {
	t.Helper()
	p, err := LoadPreset("vrag")
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Preset: p, Policy: pol, Tools: map[string]Tool{"search": search, "crop": CropTool{MaxSide: 800}}}
}

// TestVRAGOverRenderedWorld runs the vrag preset end to end over the
// world's passages rendered as pages: search, zoom into the page's top,
// answer.
func TestVRAGOverRenderedWorld(t *testing.T) {
	w, ix := worldPages(t)
	target := w.Passages[3]
	pol := &turnScript{turns: []string{
		"<think>find the page</think><search> " + target.Title + " </search>",
		"<think>zoom on the title</think><region>[0, 0, 1, 0.3]</region>",
		"<answer> " + target.Title + " </answer>",
	}}
	r := vragRunner(t, pol, PageSearchTool{R: ix, Pages: vision.Renderer{}, MaxSide: 512})
	ep := r.Run(context.Background(), Question{ID: "v1", Text: "Which page is it?"}, 0)
	if ep.Status != Answered || ep.Answer != target.Title {
		t.Fatalf("status %s (%s), answer %q", ep.Status, ep.Reason, ep.Answer)
	}
	if len(ep.Retrieved) != 1 || ep.Retrieved[0].ID != target.ID {
		t.Fatalf("retrieved %+v, want page %s", ep.Retrieved, target.ID)
	}
	page := vision.Render(target, vision.RenderOptions{})
	view, _ := page.Fit(512)
	box, _ := vision.Box{0, 0, 1, 0.3}.Rect(view.Size())
	pr := vision.ScaleRect(box, view.Size(), page.Size())
	zoom, _ := page.Zoom(pr, 800)
	want := []ImageRef{
		{Kind: "page", Page: target.ID, Tool: "search", Turn: 0, Segment: 2, Width: view.Size().X, Height: view.Size().Y, SHA256: vision.Hash(view.Image)},
		{Kind: "crop", Page: target.ID, Tool: "crop", Turn: 1, Segment: 4, Width: zoom.Size().X, Height: zoom.Size().Y,
			Box: &[4]int{pr.Min.X, pr.Min.Y, pr.Max.X, pr.Max.Y}, SHA256: vision.Hash(zoom.Image)},
	}
	if diff := cmp.Diff(want, ep.Images); diff != "" {
		t.Fatalf("images (-want +got):\n%s", diff)
	}
	// Each image's segment is the observation that shows it.
	for _, ref := range ep.Images {
		seg := ep.Context[ref.Segment]
		if seg.Source != Env || !strings.Contains(seg.Text, "(id "+target.ID) {
			t.Errorf("segment %d of image %s/%s is %s %q", ref.Segment, ref.Kind, ref.Page, seg.Source, seg.Text)
		}
	}
	// The crop reads the text inside the box, exactly: the title line.
	crop := ep.Turns[1].Calls[0].Observation
	if zoom.Text == "" || !strings.Contains(crop, "\n"+zoom.Text+"\n") || !strings.Contains(zoom.Text, strings.Fields(target.Title)[0]) {
		t.Errorf("crop observation %q, want the text %q", crop, zoom.Text)
	}
	// The second prompt shows the page inside <information>, and the trace
	// holds refs, not pixels.
	if p := pol.reqs[1].Prompt; !strings.Contains(p, "<information>Page 1 (id "+target.ID+", image ") {
		t.Errorf("second prompt lacks the page: %q", p)
	}
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "base64") || len(b) > 64<<10 {
		t.Errorf("trace of %d bytes holds pixels", len(b))
	}
	if len(ep.Turns[0].Calls[0].Log) != 1 || !strings.HasPrefix(ep.Turns[0].Calls[0].Log[0], "image page "+target.ID) {
		t.Errorf("search log %q", ep.Turns[0].Calls[0].Log)
	}
}

// TestVRAGPolicyMistakes: zooming before any page, or outside the page,
// is told to the policy and the episode goes on; a repeated search shows
// the next page, not the same one again.
func TestVRAGPolicyMistakes(t *testing.T) {
	_, ix := worldPages(t)
	pol := &turnScript{turns: []string{
		"<region>[0, 0, 10, 10]</region>",
		"<search> founded </search>",
		"<search> founded </search>",
		"<region>[5000, 5000, 6000, 6000]</region>",
		"<answer> x </answer>",
	}}
	ep := vragRunner(t, pol, PageSearchTool{R: ix, Pages: vision.Renderer{}}).Run(context.Background(), Question{ID: "m", Text: "q"}, 0)
	if ep.Status != Answered {
		t.Fatalf("status %s: %s", ep.Status, ep.Reason)
	}
	obs := func(turn int) string { return ep.Turns[turn].Calls[0].Observation }
	if !strings.Contains(obs(0), "no page to crop yet") {
		t.Errorf("crop before search: %q", obs(0))
	}
	if len(ep.Retrieved) != 2 || ep.Retrieved[0].ID == ep.Retrieved[1].ID {
		t.Errorf("two searches retrieved %+v, want two different pages", ep.Retrieved)
	}
	if !strings.Contains(obs(2), "Page 2 (id "+ep.Retrieved[1].ID) {
		t.Errorf("second search: %q", obs(2))
	}
	if !strings.Contains(obs(3), "lies outside the") {
		t.Errorf("crop outside: %q", obs(3))
	}
	if len(ep.Images) != 2 {
		t.Errorf("images %+v, want the two pages only", ep.Images)
	}
}

// TestImageChat: with ImageChat, the policy gets chat messages rebuilt
// from the episode, images as OpenAI image_url parts in the user turn of
// the observation that showed them.
func TestImageChat(t *testing.T) {
	w, ix := worldPages(t)
	pol := &turnScript{turns: []string{
		"<search> " + w.Passages[0].Title + " </search>",
		"<region>[0.5, 0.5, 1, 1]</region>",
		"<answer> y </answer>",
	}}
	r := vragRunner(t, ImageChat{Client: pol}, PageSearchTool{R: ix, Pages: vision.Renderer{}, MaxSide: 300, ImageOnly: true})
	ep := r.Run(context.Background(), Question{ID: "c", Text: "q"}, 0)
	if ep.Status != Answered || len(pol.reqs) != 3 {
		t.Fatalf("status %s (%s), %d requests", ep.Status, ep.Reason, len(pol.reqs))
	}
	type shape struct {
		Role   string
		Parts  []string // part types
		Images []image.Point
	}
	got := make([]shape, 0)
	for _, m := range pol.reqs[2].Messages {
		sh := shape{Role: m.Role}
		for _, p := range m.Parts {
			sh.Parts = append(sh.Parts, p.Type)
			if p.Type == "image_url" {
				sh.Images = append(sh.Images, decodeDataURL(t, p.ImageURL.URL))
			}
		}
		got = append(got, sh)
	}
	if pol.reqs[2].Prompt != "" || pol.reqs[2].PromptIDs != nil {
		t.Error("the chat request also carries a text prompt")
	}
	size := func(i int) image.Point { return image.Pt(ep.Images[i].Width, ep.Images[i].Height) }
	want := []shape{
		{Role: "user"},
		{Role: "assistant"},
		{Role: "user", Parts: []string{"text", "image_url"}, Images: []image.Point{size(0)}},
		{Role: "assistant"},
		{Role: "user", Parts: []string{"text", "image_url"}, Images: []image.Point{size(1)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("third request's messages (-want +got):\n%s", diff)
	}
	if obs := ep.Turns[0].Calls[0].Observation; strings.Contains(obs, w.Passages[0].Text[:20]) {
		t.Errorf("image-only observation holds the page text: %q", obs)
	}
	if pol.reqs[0].Messages[0].Content != ep.Context[0].Text {
		t.Error("first message is not the prompt")
	}
}

func decodeDataURL(t *testing.T, u string) image.Point {
	t.Helper()
	b64, ok := strings.CutPrefix(u, "data:image/png;base64,")
	if !ok {
		t.Fatalf("image url %.40q is not a PNG data URL", u)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := vision.Decode(strings.NewReader(string(b)), "data URL")
	if err != nil {
		t.Fatal(err)
	}
	return img.Bounds().Size()
}

// TestVRAGOverSharedPages runs the preset over real page images (ViDoRe
// ArxivQA): the first query's page is found by its caption, cropped from
// full resolution, and the episode is scored on page ids.
func TestVRAGOverSharedPages(t *testing.T) {
	src := shareddata.Path(t, "visual/vidore_arxivqa_sample")
	var qrels struct {
		Queries []struct {
			Text     string `json:"text"`
			Relevant []int  `json:"relevant_corpus_ids"`
		} `json:"queries"`
	}
	b, err := os.ReadFile(filepath.Join(src, "queries_qrels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &qrels); err != nil {
		t.Fatal(err)
	}
	// The images carry no text, so captions written here stand in for an
	// OCR layer: enough to route the query to its page.
	dir := t.TempDir()
	for i := range 10 {
		name := filepath.Join(src, "images", itoa(i)+".png")
		if err := os.Symlink(name, filepath.Join(dir, itoa(i)+".png")); err != nil {
			t.Fatal(err)
		}
	}
	q := qrels.Queries[0]
	os.WriteFile(filepath.Join(dir, itoa(q.Relevant[0])+".txt"), []byte("graph of surface density trend, correcting for fspec"), 0o644)
	os.WriteFile(filepath.Join(dir, "5.txt"), []byte("thread participation from JUL10 to FEB11Q"), 0o644)
	pages, err := vision.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	pol := &turnScript{turns: []string{
		"<search> " + q.Text + " </search>",
		"<region>[0, 0, 0.5, 0.5]</region>",
		"<answer> it decreases </answer>",
	}}
	ep := vragRunner(t, pol, PageSearchTool{R: pages, Pages: pages, MaxSide: 512}).Run(context.Background(), Question{ID: "arxivqa", Text: q.Text}, 0)
	if ep.Status != Answered {
		t.Fatalf("status %s: %s", ep.Status, ep.Reason)
	}
	if len(ep.Retrieved) == 0 || ep.Retrieved[0].ID != itoa(q.Relevant[0]) {
		t.Fatalf("retrieved %+v, want page %d first", ep.Retrieved, q.Relevant[0])
	}
	if len(ep.Images) != 2 || ep.Images[1].Kind != "crop" || ep.Images[1].Box == nil || ep.Images[1].Box[2] < 800 {
		t.Fatalf("images %+v: want the page and a crop of its top-left quarter at full resolution", ep.Images)
	}
	if obs := ep.Turns[1].Calls[0].Observation; !strings.Contains(obs, "no text layer") {
		t.Errorf("crop of a scanned page: %q", obs)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// TestImageMemory: runners without image tools give episodes no image
// memory (nothing to pay), crop outside an episode is an error, and
// image chat outside a runner's main context sends the prompt as it is.
func TestImageMemory(t *testing.T) {
	ctx := context.Background()
	r := &Runner{Tools: map[string]Tool{"search": SearchTool{}}}
	if r.imageMemory(&Episode{}) != nil {
		t.Error("a text runner got an image memory")
	}
	r.Tools["crop"] = CropTool{}
	if r.imageMemory(&Episode{}) == nil {
		t.Error("an image runner got no image memory")
	}
	if _, err := (CropTool{}).Call(ctx, Call{Input: "0,0,1,1"}); err == nil {
		t.Error("crop without an image memory succeeded")
	}
	pol := &turnScript{}
	ic := ImageChat{Client: pol}
	if _, err := ic.Generate(ctx, llm.Request{Prompt: "refine these documents", MaxTokens: 4}); err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{{Role: "user", Content: "refine these documents"}}
	if diff := cmp.Diff(want, pol.reqs[0].Messages); diff != "" || pol.reqs[0].Prompt != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if _, err := ic.Generate(ctx, llm.Request{PromptIDs: []int{1}, MaxTokens: 4}); err == nil {
		t.Error("image chat of token ids succeeded")
	}
}

// promptPolicy plays VRAG from the prompt alone, so concurrent episodes
// each follow their own course: search the question, zoom, answer.
type promptPolicy struct{}

func (promptPolicy) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	_, q, _ := strings.Cut(req.Prompt, "Question: ")
	q, _, _ = strings.Cut(q, "\n")
	out := "<think>\n</think><search> " + q + " </search>"
	switch {
	case strings.Contains(req.Prompt, "Crop of page"):
		out = "<answer> done </answer>"
	case strings.Contains(req.Prompt, "<information>Page"):
		out = "<region>[0, 0, 0.5, 0.5]</region>"
	}
	return stopped(out, req.Stop), nil
}

// stopped is the response of a model that would write out, cut at the
// first stop string as a server cuts it.
func stopped(out string, stops []string) llm.Response {
	c := llm.Choice{Text: out, FinishReason: "length"}
	for _, st := range stops {
		if i := strings.Index(out, st); i >= 0 {
			c = llm.Choice{Text: out[:i], FinishReason: "stop", StopString: st}
			break
		}
	}
	return llm.Response{Choices: []llm.Choice{c}}
}

// TestVRAGConcurrent: episodes run at once keep their own images.
func TestVRAGConcurrent(t *testing.T) {
	w, ix := worldPages(t)
	r := vragRunner(t, promptPolicy{}, PageSearchTool{R: ix, Pages: vision.Renderer{}, MaxSide: 256})
	var qs []Question
	for i := range 12 {
		qs = append(qs, Question{ID: itoa(i % 10), Text: w.Passages[i*5].Title})
	}
	for i, ep := range r.RunMany(context.Background(), qs, 4) {
		if ep.Status != Answered || len(ep.Images) != 2 {
			t.Fatalf("episode %d: %s (%s), %d images", i, ep.Status, ep.Reason, len(ep.Images))
		}
		if ep.Images[1].Page != ep.Images[0].Page || ep.Images[1].Page != ep.Retrieved[0].ID {
			t.Errorf("episode %d cropped page %s after seeing %s", i, ep.Images[1].Page, ep.Images[0].Page)
		}
	}
}

// TestTapKeepsImages: a tapped page search and crop still show their
// images (the crop finds the page the search showed), and the tap sees
// every observation.
func TestTapKeepsImages(t *testing.T) {
	w, ix := worldPages(t)
	target := w.Passages[3]
	pol := &turnScript{turns: []string{
		"<search> " + target.Title + " </search>",
		"<region>[0, 0, 1, 0.3]</region>",
		"<answer> " + target.Title + " </answer>",
	}}
	var mu sync.Mutex
	var seen []int
	see := func(obs Observation) {
		mu.Lock()
		seen = append(seen, len(obs.Hits))
		mu.Unlock()
	}
	r := vragRunner(t, pol, Tap(PageSearchTool{R: ix, Pages: vision.Renderer{}, MaxSide: 512}, see))
	r.Tools["crop"] = Tap(r.Tools["crop"], see)
	ep := r.Run(context.Background(), Question{ID: "tap", Text: "Which page is it?"}, 0)
	if ep.Status != Answered || len(ep.Images) != 2 || ep.Images[1].Kind != "crop" {
		t.Fatalf("status %s (%s), images %+v: want the page and its crop", ep.Status, ep.Reason, ep.Images)
	}
	if len(seen) != 2 || seen[0] != 1 {
		t.Errorf("the tap saw %v (hits per observation), want the search's one hit, then the crop", seen)
	}
}
