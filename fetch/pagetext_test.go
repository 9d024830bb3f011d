package fetch

import (
	"strings"
	"testing"
)

func TestPageWriteText(t *testing.T) {
	p := &Page{Title: "T", FinalURL: "http://x/", Status: 200, ContentType: "text/html", Bytes: 10, Truncated: true,
		Text: "one two", Links: []Link{{Text: "home", URL: "http://x/home"}}}
	var b strings.Builder
	if err := p.WriteText(&b, nil); err != nil {
		t.Fatal(err)
	}
	want := "Title: T\nURL: http://x/\n(200 text/html, 10 bytes, TRUNCATED)\n\none two\n\nLinks:\n[1] home <http://x/home>\n"
	if b.String() != want {
		t.Errorf("whole text: got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := p.WriteText(&b, Segments(p.Text, 4, Chars)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "--- segment 1 of ") || strings.Contains(b.String(), "\n\none two\n") {
		t.Errorf("segments:\n%s", b.String())
	}
}
