package agent

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/vision"
)

// VRAG-RL as configuration: a search tool that shows page images, a crop
// tool that zooms into a region of the last page shown, and a client
// adapter that sends those images to chat models. Each episode keeps a
// memory of the images it was shown (pixels for the chat adapter and the
// crop tool; ids, sizes and hashes in Episode.Images for traces).

// DefaultMaxSide is the longer side, in pixels, of pages and crops as shown
// to the policy when a tool sets none.
const DefaultMaxSide = 1024

// ImageRef is an image shown to the policy as the episode records it:
// never the pixels, a hash of them.
type ImageRef struct {
	Kind    string `json:"kind"` // "page" or "crop"
	Page    string `json:"page"` // the page's id
	Tool    string `json:"tool"`
	Turn    int    `json:"turn"`
	Segment int    `json:"segment"` // index in Episode.Context of the observation that shows it
	Width   int    `json:"width"`   // as shown
	Height  int    `json:"height"`
	// Box is a crop's region in the page's own (full-resolution) pixels:
	// left, top, right, bottom, half-open.
	Box    *[4]int `json:"box,omitempty"`
	SHA256 string  `json:"sha256"` // vision.Hash of the pixels shown
}

// ShownImage is an image a tool showed, with its pixels.
type ShownImage struct {
	Ref   ImageRef
	Image image.Image
}

// imageTool is a tool that shows images: a runner with one gives each
// episode an image memory, which the tool receives with every call in an
// episode (m is nil outside one).
type imageTool interface {
	Tool
	callShowing(ctx context.Context, c Call, m *imageMemory) (Observation, error)
}

// imageMemory is one episode's images. Tools append under mu; the runner's
// goroutine reads the episode's context between tool calls.
type imageMemory struct {
	mu     sync.Mutex
	ep     *Episode
	pages  map[string]bool // pages shown: each is shown once, as VRAG-RL does
	last   *vision.Page    // the last page shown, full resolution: what crop cuts
	view   image.Point     // its size as shown, the frame of the policy's boxes
	lastN  int             // its number in the episode ("Page N")
	pixels []image.Image   // parallel to ep.Images
	urls   []string        // data URLs, encoded on first use
}

// imageMemory is a new memory of the images ep is shown when the runner
// has a tool that shows images; nil otherwise (nothing to pay). Tools
// receive it with each call (Call.images), never through the context.
func (r *Runner) imageMemory(ep *Episode) *imageMemory {
	for _, t := range r.Tools {
		if _, ok := t.(imageTool); ok {
			return &imageMemory{ep: ep, pages: map[string]bool{}}
		}
	}
	return nil
}

// describe fills in what a ref says of its image.
func describe(ref ImageRef, img image.Image) ImageRef {
	b := img.Bounds()
	ref.Width, ref.Height, ref.SHA256 = b.Dx(), b.Dy(), vision.Hash(img)
	return ref
}

// show records an image shown in the current turn.
func (m *imageMemory) show(ref ImageRef, img image.Image) ImageRef {
	ref = describe(ref, img)
	m.mu.Lock()
	defer m.mu.Unlock()
	// Tools run while the runner waits: the turn in progress is the next
	// one to be recorded, and the observation the next segment.
	ref.Turn, ref.Segment = len(m.ep.Turns), len(m.ep.Context)
	m.ep.Images = append(m.ep.Images, ref)
	m.pixels = append(m.pixels, img)
	m.urls = append(m.urls, "")
	return ref
}

func logLine(r ImageRef) string {
	s := fmt.Sprintf("image %s %s %dx%d sha256:%s", r.Kind, r.Page, r.Width, r.Height, r.SHA256)
	if r.Box != nil {
		s += fmt.Sprintf(" box %v", *r.Box)
	}
	return s
}

// PageSearchTool answers queries with page images: R ranks passages (page
// texts), Pages turns each into its image. It shows up to Call.K pages this
// episode has not seen, each scaled to MaxSide, and for text-only models a
// stand-in: the page's number, id and size and, unless ImageOnly, its text.
type PageSearchTool struct {
	R         search.Retriever
	Pages     vision.Source
	MaxSide   int  // longer side of a page as shown (default DefaultMaxSide)
	ImageOnly bool // leave the page text out of the observation (for models that read the images)
}

// Name is "search".
func (PageSearchTool) Name() string { return ToolSearch }

// Call retrieves pages for c.Input, outside an episode: every page is new.
func (t PageSearchTool) Call(ctx context.Context, c Call) (Observation, error) {
	return t.callShowing(ctx, c, nil)
}

// callShowing retrieves pages for c.Input that episode memory m has not
// shown yet, and records them in it.
func (t PageSearchTool) callShowing(ctx context.Context, c Call, m *imageMemory) (Observation, error) {
	k, skip := max(c.K, 1), 0
	if m != nil {
		m.mu.Lock()
		skip = len(m.pages)
		m.mu.Unlock()
	}
	res, err := t.R.Search(ctx, []string{c.Input}, k+skip) // enough to find k unseen pages
	if err != nil {
		return Observation{}, fmt.Errorf("search pages %q: %w", c.Input, err)
	}
	if len(res) != 1 {
		return Observation{}, fmt.Errorf("search pages %q: retriever returned %d lists for 1 query", c.Input, len(res))
	}
	var obs Observation
	var b strings.Builder
	for _, h := range res[0] {
		if len(obs.Hits) == k {
			break
		}
		n := 0
		if m != nil {
			m.mu.Lock()
			seen := m.pages[h.Passage.ID]
			m.pages[h.Passage.ID] = true
			n = len(m.pages)
			m.mu.Unlock()
			if seen {
				continue
			}
		}
		page, err := t.Pages.Page(ctx, h.Passage)
		if err != nil {
			return Observation{}, fmt.Errorf("search pages %q: %w", c.Input, err)
		}
		shown, err := page.Fit(orDefault(t.MaxSide))
		if err != nil {
			return Observation{}, fmt.Errorf("search pages %q: %w", c.Input, err)
		}
		ref := ImageRef{Kind: "page", Page: page.ID, Tool: ToolSearch}
		if m != nil {
			ref = m.show(ref, shown.Image)
			m.mu.Lock()
			m.last, m.view, m.lastN = page, shown.Size(), n
			m.mu.Unlock()
		} else {
			ref = describe(ref, shown.Image)
		}
		obs.Hits = append(obs.Hits, h)
		obs.Images = append(obs.Images, ShownImage{Ref: ref, Image: shown.Image})
		obs.Log = append(obs.Log, logLine(ref))
		fmt.Fprintf(&b, "Page %d (id %s, image %d×%d px)", max(n, len(obs.Hits)), page.ID, ref.Width, ref.Height)
		if page.Title != "" && (t.ImageOnly || !strings.HasPrefix(page.Text, page.Title)) { // a rendered page's text starts with its title
			b.WriteString(": " + page.Title)
		}
		b.WriteByte('\n')
		if !t.ImageOnly && page.Text != "" {
			b.WriteString(page.Text)
			b.WriteByte('\n')
		}
	}
	obs.Text = b.String()
	if len(obs.Hits) == 0 {
		obs.Text = "No new pages.\n"
	}
	return obs, nil
}

func orDefault(side int) int {
	if side <= 0 {
		return DefaultMaxSide
	}
	return side
}

// CropTool is VRAG-RL's region action: it crops the last page the episode
// was shown to a box given in that page's shown pixels (or as fractions of
// it), cuts the region from the full-resolution page and zooms it to
// MaxSide. The observation is the crop and, for text-only models, the text
// inside the box from the page's text layer.
type CropTool struct {
	MaxSide   int  // longer side of the zoomed crop (default DefaultMaxSide)
	ImageOnly bool // leave the region's text out of the observation
}

// Name is "crop".
func (CropTool) Name() string { return ToolCrop }

// Call fails: a crop cuts the last page of an episode, and only a runner's
// episode has one.
func (t CropTool) Call(ctx context.Context, c Call) (Observation, error) {
	return t.callShowing(ctx, c, nil)
}

// callShowing crops the last page m holds to the box in c.Input
// ("x1,y1,x2,y2"). A box the policy got wrong (no page yet, outside the
// page) is told to it as the observation, not an error: only failures of
// the tool fail episodes.
func (t CropTool) callShowing(ctx context.Context, c Call, m *imageMemory) (Observation, error) {
	if m == nil {
		return Observation{}, errors.New("crop: the episode has no image memory (crop runs inside a runner's episode)")
	}
	box, err := vision.ParseBox(c.Input)
	if err != nil {
		return Observation{Text: err.Error() + "\n"}, nil
	}
	m.mu.Lock()
	page, view, n := m.last, m.view, m.lastN
	m.mu.Unlock()
	if page == nil {
		return Observation{Text: "There is no page to crop yet: search first.\n"}, nil
	}
	r, err := box.Rect(view)
	if err != nil {
		return Observation{Text: fmt.Sprintf("Page %d is %d×%d px: %v.\n", n, view.X, view.Y, err)}, nil
	}
	pr := vision.ScaleRect(r, view, page.Size())
	z, err := page.Zoom(pr, orDefault(t.MaxSide))
	if err != nil {
		return Observation{}, fmt.Errorf("crop page %s: %w", page.ID, err)
	}
	ref := m.show(ImageRef{Kind: "crop", Page: page.ID, Tool: ToolCrop, Box: &[4]int{pr.Min.X, pr.Min.Y, pr.Max.X, pr.Max.Y}}, z.Image)
	var b strings.Builder
	fmt.Fprintf(&b, "Crop of page %d (id %s), region [%d, %d, %d, %d] of its %d×%d view, zoomed to %d×%d px:\n",
		n, page.ID, r.Min.X, r.Min.Y, r.Max.X, r.Max.Y, view.X, view.Y, ref.Width, ref.Height)
	switch {
	case t.ImageOnly:
	case page.Words == nil:
		b.WriteString("(this page has no text layer)\n")
	case z.Text == "":
		b.WriteString("(no text in this region)\n")
	default:
		b.WriteString(z.Text)
		b.WriteByte('\n')
	}
	return Observation{Text: b.String(), Images: []ShownImage{{Ref: ref, Image: z.Image}}, Log: []string{logLine(ref)}}, nil
}

// ImageChat adapts the runner's text prompts to an OpenAI-compatible chat
// model that sees images. A runner whose policy is an ImageChat sends each
// main-role turn as chat messages rebuilt from the episode's context
// (environment segments as user turns, the policy's as assistant turns),
// every image the episode was shown joining the user turn of its
// observation as an image_url part with a data: URL. Any other prompt
// (another role's, or a call outside a runner) becomes one user message
// without images.
type ImageChat struct {
	Client llm.Client
	Format string // image encoding: "png" (default) or "jpeg"
}

// Generate sends req as chat with images.
func (c ImageChat) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if len(req.Messages) == 0 {
		if req.Prompt == "" {
			return llm.Response{}, errors.New("image chat: a prompt given as token ids cannot become chat messages")
		}
		req.Messages = []llm.Message{{Role: "user", Content: req.Prompt}}
	}
	req.Prompt, req.PromptIDs = "", nil
	return c.Client.Generate(ctx, req)
}

// messages rebuilds the main role's context as chat turns with images.
func (m *imageMemory) messages(format string) ([]llm.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bySeg := map[int][]int{}
	for i, ref := range m.ep.Images {
		bySeg[ref.Segment] = append(bySeg[ref.Segment], i)
	}
	var out []llm.Message
	for si, s := range m.ep.Context {
		if s.Role != MainRole {
			continue
		}
		role := "user"
		if s.Source == Policy {
			role = "assistant"
		}
		if len(out) == 0 || out[len(out)-1].Role != role {
			out = append(out, llm.Message{Role: role})
		}
		msg := &out[len(out)-1]
		msg.Content += s.Text
		imgs := bySeg[si]
		if len(imgs) == 0 && len(msg.Parts) == 0 {
			continue
		}
		if len(msg.Parts) == 0 && msg.Content != s.Text {
			msg.Parts = append(msg.Parts, llm.TextPart(strings.TrimSuffix(msg.Content, s.Text)))
		}
		msg.Parts = append(msg.Parts, llm.TextPart(s.Text))
		for _, i := range imgs {
			if m.urls[i] == "" {
				u, err := vision.DataURL(m.pixels[i], format)
				if err != nil {
					return nil, fmt.Errorf("image chat: image %d (%s %s): %w", i, m.ep.Images[i].Kind, m.ep.Images[i].Page, err)
				}
				m.urls[i] = u
			}
			msg.Parts = append(msg.Parts, llm.ImagePart(m.urls[i]))
		}
	}
	return out, nil
}

// Tap returns t with see called on every observation it returns (a
// server noting the URLs of what its tools found, for example). A tool
// that shows images keeps showing them: wrapping it in a plain struct
// would hide that from the runner, and a crop would find no page.
func Tap(t Tool, see func(Observation)) Tool {
	if it, ok := t.(imageTool); ok {
		return tappedImages{tapped{t, see}, it}
	}
	return tapped{t, see}
}

type tapped struct {
	Tool
	see func(Observation)
}

func (t tapped) Call(ctx context.Context, c Call) (Observation, error) {
	obs, err := t.Tool.Call(ctx, c)
	t.see(obs)
	return obs, err
}

type tappedImages struct {
	tapped
	it imageTool
}

func (t tappedImages) callShowing(ctx context.Context, c Call, m *imageMemory) (Observation, error) {
	obs, err := t.it.callShowing(ctx, c, m)
	t.see(obs)
	return obs, err
}
